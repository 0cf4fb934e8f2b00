"""Bring a database to the newest schema, safely when many processes start at once."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from evaltrace.store.engine import IMMEDIATE

__all__ = ["upgrade_to_head"]

_SCRIPT_LOCATION = Path(__file__).with_name("migrations")
# Any fixed 64-bit number: the PostgreSQL advisory lock that serializes concurrent upgrades.
_PG_LOCK_KEY = 7_201_843_551


def upgrade_to_head(engine: Engine) -> None:
    """Apply every pending migration in one transaction.

    The transaction first takes a database-wide lock (BEGIN IMMEDIATE on SQLite, an advisory
    lock on PostgreSQL), so a process that starts while another migrates waits, then finds the
    schema current and does nothing.
    """
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    with engine.connect() as connection:
        connection.execution_options(**{IMMEDIATE: True})
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
