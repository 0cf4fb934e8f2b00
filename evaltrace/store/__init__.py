"""Where traces are kept: the store interface (its facets typed in ``facets``) and its SQL
implementation, opened by URI."""

from __future__ import annotations

from evaltrace.exceptions import InvalidArgumentError
from evaltrace.store.base import TracePage, TraceStore

__all__ = ["TracePage", "TraceStore", "open_store"]

_SCHEMES = ("sqlite", "postgresql")


def open_store(uri: str, *, timeout: float) -> TraceStore:
    """The store at ``uri`` (migrated to this version's schema); a URI no store can open is
    a typed error naming its scheme, never its credentials."""
    scheme = uri.partition("://")[0] if "://" in uri else ""
    if scheme.split("+", 1)[0].lower() not in _SCHEMES:
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise InvalidArgumentError(
            f"tracking URI has {shown}: use sqlite:///path/to/file.db or "
            "postgresql://user@host:port/database"
        )
    from evaltrace.store.sql_store import SqlStore  # SQLAlchemy: loaded with the first store

    return SqlStore(uri, timeout=timeout)
