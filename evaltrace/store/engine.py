"""Engine setup: SQLite pragmas and explicit transactions, PostgreSQL connection health, and
the bound on every call (``EVALTRACE_STORE_TIMEOUT``)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from evaltrace.store.deadline import watch_socket

__all__ = [
    "IMMEDIATE",
    "SqliteFileWatch",
    "StoreCallTimedOut",
    "bounded_connection",
    "create_store_engine",
]

# Execution option: begin this connection's transaction with SQLite's BEGIN IMMEDIATE, so a
# writer takes the write lock up front (and waits for it within the busy timeout) instead of
# failing on a lock upgrade half way through.
IMMEDIATE = "evaltrace_begin_immediate"


class StoreCallTimedOut(Exception):
    """The store did not answer a call within the timeout: its connection was cut."""


def create_store_engine(uri: str, timeout: float, wal_autocheckpoint: int | None = None) -> Engine:
    """``timeout`` (s, 0: none): how long connecting, or waiting for a lock, may take.
    ``wal_autocheckpoint``: SQLite's automatic checkpoint threshold in pages (None: SQLite's
    1,000; larger with a WalCheckpointer running)."""
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        in_memory = url.database in (None, "", ":memory:")
        return _sqlite_engine(uri, timeout, in_memory=in_memory, autocheckpoint=wal_autocheckpoint)
    connect_args = {"connect_timeout": max(2, math.ceil(timeout))} if timeout > 0 else {}
    # No pool_pre_ping: its ping could wait for ever on a server that stopped answering.
    # bounded_connection pings under the deadline instead.
    return create_engine(uri, connect_args=connect_args, pool_size=5, max_overflow=10)


@contextmanager
def bounded_connection(engine: Engine, timeout: float) -> Iterator[Connection]:
    """A connection whose every statement finishes within ``timeout`` seconds in all, or fails
    (``StoreCallTimedOut``). On PostgreSQL a pooled connection is pinged first (a server
    restarted since leaves it dead: it is replaced once)."""
    if engine.dialect.name != "postgresql":
        with engine.connect() as connection:
            yield connection
        return
    connection = engine.connect()
    try:
        for attempt in (1, 2):
            with watch_socket(_socket_of(connection), timeout) as deadline:
                if attempt == 1 and not _ping(connection):
                    if deadline is not None and deadline.expired:
                        raise StoreCallTimedOut(f"no answer within {timeout:g} s")
                    dead, connection = connection, engine.connect()
                    dead.invalidate()
                    dead.close()
                    continue  # the new connection gets a deadline of its own
                try:
                    yield connection
                except Exception as exc:
                    if deadline is not None and deadline.expired:
                        raise StoreCallTimedOut(f"no answer within {timeout:g} s") from exc
                    raise
                return
    finally:
        connection.close()


def _socket_of(connection: Connection) -> int | None:
    try:
        return int(connection.connection.dbapi_connection.pgconn.socket)  # type: ignore[union-attr]
    except Exception:  # not psycopg 3, or not connected
        return None


def _ping(connection: Connection) -> bool:
    """False if the pooled connection is dead (the server restarted, say)."""
    try:
        cursor = connection.connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
    except Exception:
        return False
    return True


def _sqlite_engine(
    uri: str, timeout: float, *, in_memory: bool, autocheckpoint: int | None
) -> Engine:
    busy_ms = int(timeout * 1000) if timeout > 0 else 2**31 - 1
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": busy_ms / 1000, "check_same_thread": False}
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
            if autocheckpoint is not None:
                cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint)}")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # LIKE is case-sensitive, as on PostgreSQL (ILIKE is the case-insensitive one).
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class SqliteFileWatch:
    """Notices the database file deleted or replaced under open connections, which would go on
    reading and writing the old file (a deleted inode no other process sees): one ``stat`` a
    call, compared with the file the connections were opened on."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._identity = self._current()

    @classmethod
    def of(cls, engine: Engine) -> SqliteFileWatch | None:
        database = engine.url.database
        if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
            return None
        if str(database).startswith("file:"):  # a URI filename: leave it to SQLite
            return None
        return cls(os.path.abspath(str(database)))

    def _current(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return (stat.st_dev, stat.st_ino)

    def change(self) -> str | None:
        """None while the file is the one remembered; else ``"deleted"`` or ``"replaced"``."""
        current = self._current()
        if current == self._identity:
            return None
        return "deleted" if current is None else "replaced"

    def remember(self) -> None:
        self._identity = self._current()
