"""Where traces are kept: the store interface (its facets typed in ``facets``) and its SQL
implementation, opened by URI."""

from __future__ import annotations

from evaltrace.exceptions import InvalidArgumentError
from evaltrace.store.base import TracePage, TraceStore

__all__ = ["TracePage", "TraceStore", "open_store"]

_SQL_SCHEMES = ("sqlite", "postgresql")
_HTTP_SCHEMES = ("http", "https")


def open_store(uri: str, *, timeout: float, token: str | None = None) -> TraceStore:
    """The store at ``uri``: a database (migrated to this version's schema), or an
    ``evaltrace server`` (``http://host:port``, with ``token`` as its bearer token). A URI no
    store can open is a typed error naming its scheme, never its credentials."""
    scheme = (uri.partition("://")[0] if "://" in uri else "").lower()
    if scheme in _HTTP_SCHEMES:
        from evaltrace.store.http_store import HttpStore

        return HttpStore(uri, timeout=timeout, token=token)
    if scheme.split("+", 1)[0] not in _SQL_SCHEMES:
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise InvalidArgumentError(
            f"tracking URI has {shown}: use sqlite:///path/to/file.db, "
            "postgresql://user@host:port/database or http://host:port (evaltrace server)"
        )
    from evaltrace.store.sql_store import SqlStore  # SQLAlchemy: loaded with the first store

    return SqlStore(uri, timeout=timeout)
