"""Alembic migrations shipped with the package, applied automatically on first use."""
