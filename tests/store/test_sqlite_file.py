"""The SQLite file under a running app: deleted, replaced, copied after exit."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import evaltrace
from evaltrace._session import get_session
from evaltrace.store.sql_store import SqlStore


@evaltrace.trace
def handle(i: int) -> int:
    return i


def inputs_in(path: Path) -> list[int]:
    """What a new process would find in the file (a store of its own)."""
    store = SqlStore(f"sqlite:///{path}")
    try:
        page = store.search_traces(["0"], max_results=1000)
        return sorted(t.data.spans[0].inputs["i"] for t in page.traces)
    finally:
        store.close()


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def test_a_deleted_database_file_is_noticed_and_written_anew(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Was: pooled connections kept writing into the deleted inode (written=300, no warning)
    and a new process saw nothing."""
    database = tmp_path / "app.db"
    evaltrace.configure(tracking_uri=f"sqlite:///{database}")
    assert [handle(i) for i in range(3)] == [0, 1, 2]
    assert evaltrace.flush(timeout=30)
    remove_database(database)
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        assert [handle(i) for i in range(3, 6)] == [3, 4, 5]
        assert evaltrace.flush(timeout=30)
    assert "was deleted" in caplog.text
    assert inputs_in(database) == [3, 4, 5]


@pytest.mark.allow_drops
def test_a_database_replaced_by_garbage_spools_instead_of_dropping(tmp_path: Path) -> None:
    """Was: "file is not a database" dropped each trace."""
    database = tmp_path / "app.db"
    evaltrace.configure(tracking_uri=f"sqlite:///{database}", spool_dir=str(tmp_path / "spool"))
    assert [handle(i) for i in range(3)] == [0, 1, 2]
    assert evaltrace.flush(timeout=30)
    remove_database(database)
    database.write_bytes(b"this is not a database, it is a text file " * 100)
    assert [handle(i) for i in range(3, 6)] == [3, 4, 5]
    assert evaltrace.flush(timeout=5) is False  # spooled
    writer = get_session().pipeline().writer
    assert writer.dropped == 0 and writer.spilled == 3
    database.unlink()  # someone cleans up: the store starts anew, the spool is replayed
    assert evaltrace.recover(timeout=30) is True
    assert inputs_in(database) == [3, 4, 5]


def test_the_database_file_alone_holds_everything_after_exit(tmp_path: Path) -> None:
    """Exit closes the store's connections, so SQLite checkpoints its write-ahead log: copying
    the database file alone (as people do) copies every trace."""
    database = tmp_path / "app.db"
    child = (
        "import evaltrace\n"
        f"evaltrace.configure(tracking_uri={f'sqlite:///{database}'!r})\n"
        "@evaltrace.trace\n"
        "def handle(i): return i\n"
        "for i in range(50): handle(i)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    result = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True)
    assert result.returncode == 0, result.stderr
    copy = tmp_path / "copy" / "app.db"
    copy.parent.mkdir()
    shutil.copyfile(database, copy)
    assert inputs_in(copy) == list(range(50))
