"""WAL checkpoints on a thread of their own (evaltrace/store/checkpoint.py)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from evaltrace.store.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from evaltrace.store.sql_store import SqlStore
from tests.store.test_sql_store import make_trace


def _unbackfilled_frames(path: Path) -> int:
    """Frames of the WAL not yet copied into the database file (a PASSIVE checkpoint's
    report: log frames minus checkpointed ones; it checkpoints too, so call it once)."""
    with sqlite3.connect(path) as probe:
        _busy, log, done = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(log) - int(done)


def test_writers_leave_checkpoints_to_the_thread_and_it_takes_them(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    store = SqlStore(f"sqlite:///{path}")
    try:
        checkpointer = store.db.checkpoint_in_background()
        assert checkpointer is not None
        with store.db.read() as connection:
            pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()
        assert pages == BACKSTOP_PAGES  # writers' commits no longer checkpoint at 1,000 pages
        store.write_traces([make_trace(i) for i in range(300)])
        deadline = time.monotonic() + 30
        done_before = checkpointer.checkpoints
        while checkpointer.checkpoints < done_before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer.checkpoints >= done_before + 2  # one surely after the write
        assert _unbackfilled_frames(path) == 0
    finally:
        store.close()
    assert not checkpointer.running


def test_without_the_thread_writers_checkpoint_as_sqlite_does(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        with store.db.read() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
    finally:
        store.close()


def test_a_deleted_database_is_not_created_again_by_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "gone.db"
    sqlite3.connect(path).close()
    path.unlink()
    checkpointer = WalCheckpointer(str(path))
    try:
        try:
            checkpointer.checkpoint()
        except sqlite3.OperationalError:
            pass  # unable to open: the thread logs it once and goes on
        assert not path.exists()
    finally:
        checkpointer.stop()
