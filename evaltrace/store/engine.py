"""Engine setup: SQLite pragmas and explicit transactions, PostgreSQL connection health."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

__all__ = ["IMMEDIATE", "create_store_engine"]

# Execution option: begin this connection's transaction with SQLite's BEGIN IMMEDIATE, so a
# writer takes the write lock up front (and waits for it within the busy timeout) instead of
# failing on a lock upgrade half way through.
IMMEDIATE = "evaltrace_begin_immediate"

SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_store_engine(uri: str) -> Engine:
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(uri, in_memory=url.database in (None, "", ":memory:"))
    return create_engine(uri, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _sqlite_engine(uri: str, *, in_memory: bool) -> Engine:
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    }
    if in_memory:
        # One shared connection, or every thread would see its own empty database.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(uri, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # LIKE is case-sensitive, as on PostgreSQL (ILIKE is the case-insensitive one).
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
