"""The spool's ownership (file locks, not process ids) and its replay (one bad file blocks none;
the application never waits for a replay)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import evaltrace
from evaltrace._session import get_session
from evaltrace.store.sql_store import SqlStore
from evaltrace.tracer.spool import spool_files
from tests.waiting import eventually


@evaltrace.trace
def handle(i: int) -> int:
    return i


def stored_inputs() -> list[int]:
    return sorted(t.data.spans[0].inputs["i"] for t in evaltrace.search_traces(return_type="list"))


def spool_in_a_child(spool: Path, uri: str, count: int, *, then: str) -> subprocess.Popen[bytes]:
    """A process that spools ``count`` traces for the unreachable ``uri``, then ``then``."""
    child = (
        "import os, signal, sys, time, evaltrace\n"
        f"evaltrace.configure(spool_dir={str(spool)!r}, tracking_uri={uri!r})\n"
        "@evaltrace.trace\n"
        "def work(i): return i\n"
        f"for i in range({count}): work(1000 + i)\n"
        "assert evaltrace.flush(timeout=10) is False  # unreachable: spooled\n"
        "print('spooled', flush=True)\n"
        f"{then}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    process = subprocess.Popen(
        [sys.executable, "-c", child], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stdout.readline() == b"spooled\n", process.stderr.read()  # type: ignore[union-attr]
    return process


def test_a_dead_process_s_file_is_replayed_though_its_pid_is_alive_again(tmp_path: Path) -> None:
    """Ownership went by the PID in the file name: a restarted container's app is PID 1 again,
    so its predecessor's traces were never replayed, and recover() said True."""
    spool, later = tmp_path / "spool", tmp_path / "later"
    uri = f"sqlite:///{later / 'db.sqlite'}"
    child = spool_in_a_child(spool, uri, 4, then="os.kill(os.getpid(), signal.SIGKILL)")
    child.communicate(timeout=30)
    (spooled,) = spool.iterdir()
    # The predecessor had the PID this process has now.
    spooled.rename(spooled.with_name(f"spool-{os.getpid()}-feed.jsonl"))
    later.mkdir()
    evaltrace.configure(spool_dir=str(spool), tracking_uri=uri)
    assert evaltrace.recover(timeout=30) is True
    assert stored_inputs() == [1000, 1001, 1002, 1003]
    assert not list(spool.iterdir())


def test_a_live_process_s_file_is_left_to_it_until_it_is_gone(tmp_path: Path) -> None:
    spool, later = tmp_path / "spool", tmp_path / "later"
    uri = f"sqlite:///{later / 'db.sqlite'}"
    child = spool_in_a_child(spool, uri, 3, then="time.sleep(60)")
    try:
        later.mkdir()
        evaltrace.configure(spool_dir=str(spool), tracking_uri=uri)
        assert evaltrace.recover(timeout=30) is True  # nothing of anyone gone to replay
        assert stored_inputs() == []
        (status,) = spool_files(spool)
        assert status.owned and status.traces == 3 and status.pid == child.pid
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    (status,) = spool_files(spool)
    assert not status.owned  # its lock went with it
    assert evaltrace.recover(timeout=30) is True
    assert stored_inputs() == [1000, 1001, 1002]


def test_a_file_whose_store_is_gone_blocks_no_other(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One unreplayable file (a dead job's store that no longer exists) sorted first and
    blocked the whole directory: the app's own traces were never replayed, flush() hung."""
    spool = tmp_path / "spool"
    gone = f"sqlite:///{tmp_path / 'gone' / 'db.sqlite'}"
    child = spool_in_a_child(spool, gone, 2, then="os.kill(os.getpid(), signal.SIGKILL)")
    child.communicate(timeout=30)
    (foreign,) = spool.iterdir()
    foreign.rename(foreign.with_name("spool-1-0000.jsonl"))  # sorts before ours
    later = tmp_path / "later"
    evaltrace.configure(spool_dir=str(spool), tracking_uri=f"sqlite:///{later / 'db.sqlite'}")
    assert [handle(i) for i in range(5)] == list(range(5))
    assert evaltrace.flush() is False  # returns once spooled: the store is down
    later.mkdir()
    assert evaltrace.flush() is True  # ours replayed, past the file that cannot be
    assert stored_inputs() == [0, 1, 2, 3, 4]
    assert "skipped the spool file spool-1-0000.jsonl" in caplog.text
    assert evaltrace.recover(timeout=1) is False  # not everything could be replayed ...
    (left,) = spool_files(spool)  # ... and status says which file, for which store
    assert left.file == "spool-1-0000.jsonl" and left.traces == 2 and not left.owned
    assert left.stores == (gone,)


def test_the_app_never_waits_for_a_replay_into_a_locked_store(tmp_path: Path) -> None:
    """A replay into a slow or locked store held the spool lock; with the queue full, every
    traced call spilled on the app's thread and waited for that lock (10-30 s a call)."""
    database = tmp_path / "later" / "db.sqlite"
    evaltrace.configure(
        spool_dir=str(tmp_path / "spool"),
        tracking_uri=f"sqlite:///{database}",
        max_queue_size=2,
        batch_size=1,
    )
    assert [handle(i) for i in range(10)] == list(range(10))
    assert evaltrace.flush() is False  # spooled: the store does not exist yet
    database.parent.mkdir()
    SqlStore(f"sqlite:///{database}").close()  # now it does, and has its schema ...
    locker = sqlite3.connect(database, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # ... but every write waits out the busy timeout (30 s)
    try:
        replaying = threading.Thread(target=evaltrace.recover, kwargs={"timeout": 60})
        replaying.start()  # the replay waits for the lock ...
        calls = threading.Thread(target=lambda: [handle(i) for i in range(10, 60)])
        calls.start()
        calls.join(timeout=10)
        assert not calls.is_alive()  # ... and the application's calls do not wait for it
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    replaying.join(timeout=60)
    assert evaltrace.recover(timeout=60) is True
    assert eventually(lambda: len(stored_inputs()) == 60, timeout=30)
    assert stored_inputs() == list(range(60))


def test_a_full_queue_never_makes_the_app_wait_for_the_disk(tmp_path: Path) -> None:
    """With the queue full, each trace was converted and written to the spool, with a disk
    sync, on the application's thread (and waited for any append in progress). A spill
    thread does it now."""
    later = tmp_path / "later"
    evaltrace.configure(
        spool_dir=str(tmp_path / "spool"),
        tracking_uri=f"sqlite:///{later / 'db.sqlite'}",
        max_queue_size=20,
        batch_size=20,
    )
    handle(0)
    assert evaltrace.flush() is False  # spooled: the store is down
    spool = get_session().pipeline().spool
    assert spool is not None
    with spool._append_lock:  # a disk that takes ages: an append in progress holds it
        calls = threading.Thread(target=lambda: [handle(i) for i in range(1, 31)])
        calls.start()
        calls.join(timeout=10)
        assert not calls.is_alive()  # queue full, overflow waiting for the spill thread
    later.mkdir()
    assert evaltrace.recover(timeout=30) is True
    assert stored_inputs() == list(range(31))
    status = evaltrace.export_status()
    assert status.dropped == 0 and status.spilled + status.written >= 31
