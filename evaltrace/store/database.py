"""The one Database seam every SQL facet works through: bounded transactions, driver errors
turned into ours, the SQLite file watched, the fast duplicate-ignoring insert.

``SqlStore`` and its facets (datasets, runs, browse, labeling, monitors) each hold the same
``Database``; none reaches into another's privates.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert
from sqlalchemy.exc import (
    DatabaseError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from evaltrace._internal_errors import logger
from evaltrace._suppress import instrumentation_suppressed
from evaltrace._uris import without_password
from evaltrace.exceptions import StoreError, StoreUnavailableError
from evaltrace.store.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from evaltrace.store.engine import (
    IMMEDIATE,
    SqliteFileWatch,
    StoreCallTimedOut,
    bounded_connection,
    create_store_engine,
)
from evaltrace.store.filter_sql import FilterCompiler
from evaltrace.store.migrate import upgrade_to_head
from evaltrace.store.sqlite_batches import sqlite_batch

__all__ = ["Database"]

# Errors after which the same call may succeed later: connection lost, server down, locked.
_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)


class Database:
    """One store's engine (migrated on open) and the transactions run on it. Thread-safe."""

    def __init__(self, uri: str, timeout: float) -> None:
        """``timeout``: seconds a call may take before it fails with ``StoreUnavailableError``
        (0: no bound)."""
        self.uri = uri
        self.safe_uri = without_password(uri)  # for messages
        self.timeout = timeout
        self._checkpointer: WalCheckpointer | None = None
        self.engine: Engine = create_store_engine(uri, timeout)
        self.dialect: str = self.engine.dialect.name
        self.filters = FilterCompiler(self.dialect)
        self._insert_statements: dict[str, str] = {}  # by table name
        with self._translate_errors("open"):
            upgrade_to_head(self.engine)
        self._file_watch = SqliteFileWatch.of(self.engine)
        self._reopen_lock = threading.Lock()
        self._warned_change: str | None = None

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (SQLite: ``BEGIN IMMEDIATE``, the write lock taken at once)."""
        with self._translate_errors("write"):
            self._reopen_if_the_file_changed()
            with bounded_connection(self.engine, self.timeout) as connection:
                connection.execution_options(**{IMMEDIATE: True})
                with connection.begin():
                    yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._translate_errors("read"):
            self._reopen_if_the_file_changed()
            with bounded_connection(self.engine, self.timeout) as connection, connection.begin():
                yield connection

    def insert_ignoring_duplicates(
        self,
        connection: Connection,
        table: Table,
        columns: Sequence[str],
        values: Sequence[Sequence[Any]],
    ) -> None:
        """Rows straight to the driver (SQLAlchemy's per-row parameter processing cost more than
        the inserts); a row whose key is stored already is left out.

        SQLite: a few statements for the whole batch (``sqlite_batch``: never one a row, each of
        which waits for the GIL beside a busy application). PostgreSQL: one executemany, which
        psycopg pipelines."""
        if self.dialect == "sqlite":
            for sql, parameters in sqlite_batch(table, columns, values):
                connection.exec_driver_sql(sql, parameters)
            return
        statement = self._insert_statements.get(table.name)
        if statement is None:
            statement = self._insert_statements[table.name] = (
                f"INSERT INTO {table.name} ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT DO NOTHING"
            )
        connection.exec_driver_sql(statement, list(values))

    def insert_new_rows(
        self,
        connection: Connection,
        table: Table,
        columns: Sequence[str],
        values: Sequence[Sequence[Any]],
    ) -> None:
        """Rows the caller knows clash with no stored key (spans checked under lock_traces,
        their attributes under fresh span keys). PostgreSQL: one COPY, which the server takes
        several times faster than as many INSERTs; SQLite: as insert_ignoring_duplicates."""
        if self.dialect != "postgresql":
            self.insert_ignoring_duplicates(connection, table, columns, values)
            return
        driver = connection.connection.driver_connection
        assert driver is not None
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)

    def allocate_span_keys(self, connection: Connection, count: int) -> Sequence[int]:
        """``count`` new span keys (``spans.span_pk``), increasing, for a write transaction.
        SQLite: after the largest stored, which no one else can take (the transaction holds
        the write lock). PostgreSQL: from the sequence, which concurrent writers share."""
        if count == 0:
            return ()
        if self.dialect == "sqlite":
            largest = connection.exec_driver_sql("SELECT max(span_pk) FROM spans").scalar()
            start = (largest or 0) + 1
            return range(start, start + count)
        return (
            connection.exec_driver_sql(
                "SELECT nextval('spans_span_pk_seq') FROM generate_series(1, %s)", (count,)
            )
            .scalars()
            .all()
        )

    def lock_traces(self, connection: Connection, trace_ids: Sequence[str]) -> None:
        """Serialize this transaction with any other writing spans of these traces, until it
        ends: then which spans are stored does not change under it. SQLite: the write lock
        does already. PostgreSQL: a transaction advisory lock per trace, taken in sorted
        order (two writers of overlapping traces cannot deadlock)."""
        if self.dialect == "sqlite" or not trace_ids:
            return
        connection.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(hashtextextended(id, 0)) "
            "FROM unnest(%s::text[]) WITH ORDINALITY AS ids(id, n) ORDER BY n",
            (sorted(set(trace_ids)),),
        )

    # -- the connection pool --------------------------------------------------------------------

    def set_timeout(self, seconds: float) -> None:
        """Bound calls from now on by ``seconds`` (a new pool: connections carry the bound)."""
        if seconds != self.timeout:
            self.timeout = seconds
            self._new_engine()

    def checkpoint_in_background(self) -> WalCheckpointer | None:
        """SQLite file: WAL checkpoints from now on on a thread of their own, not in writers'
        commits (store/checkpoint.py); None for other stores. Stopped by ``close``."""
        if self._checkpointer is None and self._file_watch is not None:
            self._checkpointer = WalCheckpointer(self._file_watch.path)
            self._new_engine()
        return self._checkpointer

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.engine.dispose()

    def _new_engine(self) -> None:
        old = self.engine
        pages = BACKSTOP_PAGES if self._checkpointer is not None else None
        self.engine = create_store_engine(self.uri, self.timeout, pages)
        old.dispose()

    @contextmanager
    def _translate_errors(self, action: str) -> Iterator[None]:
        """Every read and write of the store: driver errors become ours, and the work runs with
        OpenTelemetry instrumentation suppressed (an app's database instrumentation must not
        trace evaltrace's own queries)."""
        try:
            with instrumentation_suppressed():
                yield
        except StoreCallTimedOut as exc:
            self.engine.dispose()  # reconnect from scratch next time
            raise StoreUnavailableError(
                f"cannot {action} the store at {self.safe_uri}: it did not answer within "
                f"{self.timeout:g} s (EVALTRACE_STORE_TIMEOUT)"
            ) from exc
        except _UNAVAILABLE as exc:
            self.engine.dispose()  # reconnect from scratch next time
            raise StoreUnavailableError(
                f"cannot {action} the store at {self.safe_uri}: {exc}"
            ) from exc
        except IntegrityError:
            raise
        except SQLAlchemyError as exc:
            if isinstance(exc, DatabaseError) and _damaged_file(exc):
                self.engine.dispose()
                raise StoreUnavailableError(  # someone may put the right file back: spool
                    f"cannot {action} the store at {self.safe_uri}: {exc}"
                ) from exc
            raise StoreError(f"cannot {action} the store at {self.safe_uri}: {exc}") from exc

    def _reopen_if_the_file_changed(self) -> None:
        """The SQLite file deleted or replaced while open: drop the connections to the old one
        and open the path afresh (a deleted file starts a new store; a file that is not a
        database fails as unavailable: the writer spools until it is fixed)."""
        watch = self._file_watch
        if watch is None or watch.change() is None:
            return
        with self._reopen_lock:
            change = watch.change()
            if change is None:
                return
            if change != self._warned_change:
                self._warned_change = change
                logger.warning(
                    "evaltrace: the SQLite file %s was %s while this process had it open; "
                    "reconnecting%s",
                    watch.path,
                    change,
                    " (a new, empty store)" if change == "deleted" else "",
                )
            self.engine.dispose()
            upgrade_to_head(self.engine)
            watch.remember()
            self._warned_change = None


def _damaged_file(exc: DatabaseError) -> bool:
    """SQLite's file is not (or no longer) a database: replaced, truncated or corrupted."""
    text = str(exc.orig)
    return "file is not a database" in text or "database disk image is malformed" in text


def replace_tags(
    connection: Connection, table: Table, owner: dict[str, Any], tags: Mapping[str, str]
) -> None:
    """Set ``tags`` on the row ``owner`` names (its key columns and values) in a key-value
    side table (dataset, experiment, prompt and prompt version tags): each key replaced, other
    keys kept; one DELETE and one INSERT for all of them."""
    if not tags:
        return
    owned = [table.c[column] == value for column, value in owner.items()]
    connection.execute(delete(table).where(*owned, table.c.key.in_(list(tags))))
    connection.execute(insert(table), [{**owner, "key": k, "value": v} for k, v in tags.items()])
