"""The data path: queue, background writer, flush, faults, fork, contained internal errors."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import evaltrace
from evaltrace._session import Session, get_session, install_session
from tests.computing import computing_thread
from tests.forking import traced_in_forked_child
from tests.waiting import eventually


@evaltrace.trace
def handle(i: int) -> int:
    return i


def stored_count() -> int:
    return len(evaltrace.search_traces(return_type="list", include_spans=False))


def test_readers_see_their_own_traces_at_once() -> None:
    for i in range(250):
        handle(i)
    # No explicit flush: search_traces and get_trace flush this process's queue first.
    assert stored_count() == 250
    assert evaltrace.get_trace(evaltrace.get_last_active_trace_id()).data.spans[0].inputs == {
        "i": 249
    }


def test_flush_writes_everything_in_batches() -> None:
    evaltrace.configure(batch_size=7)
    for i in range(100):
        handle(i)
    assert evaltrace.flush(timeout=30) is True
    writer = get_session().pipeline().writer
    assert (writer.written, writer.dropped, writer.pending) == (100, 0, 0)


def test_the_writer_keeps_up_beside_a_thread_that_computes() -> None:
    # A computing thread gives the GIL up only when forced to, once a switch interval (5 ms).
    # The writer handed it back every few traces, and SQLite's executemany around every row,
    # each time waiting a whole interval to get it back: 2,000 traces took minutes.
    get_session().store()  # opened (and migrated) first: the steady state is what is tested
    for i in range(2_000):
        handle(i)
    with computing_thread():
        stored = evaltrace.flush(timeout=20)
    assert stored is True
    assert stored_count() == 2_000


def test_synchronous_mode_writes_on_the_callers_thread() -> None:
    evaltrace.configure(async_logging=False)
    handle(1)
    writer = get_session().pipeline().writer
    assert writer.written == 1 and writer._thread is None
    assert stored_count() == 1


@pytest.mark.allow_drops
def test_full_queue_drops_are_counted_and_warned(
    sqlite_uri: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A store that cannot be opened yet keeps the writer retrying while the queue fills.
    missing = tmp_path / "not-yet"
    evaltrace.set_tracking_uri(f"sqlite:///{missing / 'db.sqlite'}")
    evaltrace.configure(max_queue_size=5, batch_size=1, spool=False)
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        results = [handle(i) for i in range(20)]
    assert results == list(range(20))
    writer = get_session().pipeline().writer
    assert writer.dropped >= 14  # 20 - 5 queued - at most 1 in the writer's hands
    assert "dropped" in caplog.text and "export queue is full" in caplog.text
    missing.mkdir()
    assert evaltrace.flush(timeout=30)
    assert writer.written + writer.dropped == 20
    assert stored_count() == writer.written


def test_unreachable_store_keeps_traces_queued_until_it_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "later"
    evaltrace.set_tracking_uri(f"sqlite:///{missing / 'db.sqlite'}")
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        assert [handle(i) for i in range(10)] == list(range(10))
        assert evaltrace.flush(timeout=0.3) is False
    assert "cannot write" in caplog.text and "spooling them to disk" in caplog.text
    assert eventually(lambda: get_session().pipeline().writer.spilled == 10)
    missing.mkdir()
    assert evaltrace.flush(timeout=30) is True
    assert stored_count() == 10


def test_queued_counts_every_trace_waiting_in_memory(tmp_path: Path) -> None:
    """export_status().queued said 1 while 500 traces waited: the batch being retried
    counted as one."""
    missing = tmp_path / "later"
    evaltrace.set_tracking_uri(f"sqlite:///{missing / 'db.sqlite'}")
    evaltrace.configure(spool=False, batch_size=200)
    assert [handle(i) for i in range(500)] == list(range(500))
    assert eventually(lambda: get_session().pipeline().writer._busy == 200)  # one is retried
    assert evaltrace.export_status().queued == 500
    missing.mkdir()
    assert evaltrace.flush(timeout=30) is True
    assert (evaltrace.export_status().queued, stored_count()) == (0, 500)


@pytest.mark.allow_drops
def test_a_batch_bigger_than_the_spool_s_room_spools_what_fits(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500-trace batch that did not fit a small spool was dropped whole: 0 of 2,000 kept."""
    missing = tmp_path / "later"
    evaltrace.set_tracking_uri(f"sqlite:///{missing / 'db.sqlite'}")
    evaltrace.configure(spool_max_bytes=256_000, batch_size=500, max_queue_size=10_000)
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        assert [handle(i) for i in range(2000)] == list(range(2000))
        writer = get_session().pipeline().writer
        assert eventually(lambda: writer.spilled + writer.dropped == 2000, timeout=60)
    assert writer.spilled > 100 and writer.dropped > 0
    assert "the spool is full" in caplog.text
    assert sum(f.stat().st_size for f in (tmp_path / "spool").iterdir()) <= 256_000
    missing.mkdir()
    assert evaltrace.recover(timeout=30) is True
    assert stored_count() == writer.spilled


def test_forked_child_gets_a_working_writer_and_parent_keeps_its_queue() -> None:
    handle(-1)
    assert evaltrace.flush(timeout=30)
    assert traced_in_forked_child(lambda: [handle(100 + i) for i in range(5)])
    handle(-2)
    inputs = sorted(
        t.data.spans[0].inputs["i"] for t in evaltrace.search_traces(return_type="list")
    )
    assert inputs == [-2, -1, 100, 101, 102, 103, 104]


def test_internal_errors_are_contained_unless_configured_to_raise(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def failing_reducer(items: list) -> str:
        raise RuntimeError("reducer bug")

    @evaltrace.trace(output_reducer=failing_reducer)
    def stream():
        yield from (1, 2)

    # The test suite runs with EVALTRACE_RAISE_INTERNAL_ERRORS=1: the failure is loud.
    with pytest.raises(RuntimeError, match="reducer bug"):
        list(stream())
    # In production it is logged once and the application gets its values.
    evaltrace.configure(raise_internal_errors=False)
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        assert list(stream()) == [1, 2]
        assert list(stream()) == [1, 2]
    assert caplog.text.count("evaltrace internal error") == 1
    # ... and the traces are kept, with the items unreduced.
    outputs = [t.data.spans[0].outputs for t in evaltrace.search_traces(return_type="list")]
    assert outputs == [[1, 2], [1, 2]]


def test_unreachable_store_without_spool_keeps_traces_in_memory(tmp_path: Path) -> None:
    evaltrace.configure(spool=False)
    missing = tmp_path / "later"
    evaltrace.set_tracking_uri(f"sqlite:///{missing / 'db.sqlite'}")
    assert [handle(i) for i in range(5)] == list(range(5))
    assert evaltrace.flush(timeout=0.3) is False
    missing.mkdir()
    assert evaltrace.flush(timeout=30) is True
    assert stored_count() == 5


def test_full_queue_spills_to_the_spool_and_nothing_is_lost(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet"
    evaltrace.set_tracking_uri(f"sqlite:///{missing / 'db.sqlite'}")
    evaltrace.configure(max_queue_size=3, batch_size=1)
    assert [handle(i) for i in range(40)] == list(range(40))
    writer = get_session().pipeline().writer
    assert writer.dropped == 0 and writer.spilled >= 30
    missing.mkdir()
    assert evaltrace.flush(timeout=30)
    assert sorted(
        t.data.spans[0].inputs["i"] for t in evaltrace.search_traces(return_type="list")
    ) == list(range(40))


@pytest.mark.allow_drops
def test_spool_cap_drops_are_counted_and_warned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    evaltrace.set_tracking_uri(f"sqlite:///{tmp_path / 'missing' / 'db.sqlite'}")
    evaltrace.configure(spool_max_bytes=3_000, batch_size=1)
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        assert [handle(i) for i in range(30)] == list(range(30))
        evaltrace.flush(timeout=1)
    writer = get_session().pipeline().writer
    assert eventually(lambda: writer.dropped + writer.spilled == 30)
    assert writer.dropped > 0 and writer.spilled > 0
    assert "the spool is full" in caplog.text
    (tmp_path / "missing").mkdir()  # the store comes back: what was spooled gets written
    assert evaltrace.flush(timeout=30)
    assert stored_count() == writer.spilled


def test_sigkilled_process_traces_are_recovered_by_the_next_one(tmp_path: Path) -> None:
    spool, missing = tmp_path / "spool", tmp_path / "db-later"
    uri = f"sqlite:///{missing / 'db.sqlite'}"
    child = (
        "import os, signal, evaltrace\n"
        f"evaltrace.configure(spool_dir={str(spool)!r}, tracking_uri={uri!r})\n"
        "@evaltrace.trace\n"
        "def work(i): return i\n"
        "for i in range(25): work(i)\n"
        "assert evaltrace.flush(timeout=2) is False  # the store is unreachable: spooled\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    result = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert list(spool.iterdir())
    missing.mkdir()
    evaltrace.configure(spool_dir=str(spool))
    evaltrace.set_tracking_uri(uri)
    assert evaltrace.recover(timeout=30) is True
    found = sorted(t.data.spans[0].inputs["i"] for t in evaltrace.search_traces(return_type="list"))
    assert found == list(range(25))
    assert not list(spool.iterdir())


@pytest.mark.parametrize("first_call_on", ["main thread", "another thread"])
def test_sigterm_flushes_before_the_process_ends(first_call_on: str, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'db.sqlite'}"
    calls = (
        "for i in range(200): work(i)\n"
        if first_call_on == "main thread"
        # A web server's first traced call runs on a request thread, where no signal handler
        # can be installed: decorating (on the main thread, at import) has done it already.
        else "import threading\n"
        "t = threading.Thread(target=lambda: [work(i) for i in range(200)]); t.start(); t.join()\n"
    )
    child = (
        "import os, signal, evaltrace\n"
        f"evaltrace.configure(tracking_uri={uri!r}, spool=False)\n"
        "@evaltrace.trace\n"
        "def work(i): return i\n"
        f"{calls}"
        "os.kill(os.getpid(), signal.SIGTERM)  # no flush: the handler must do it\n"
        "import time; time.sleep(30)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    result = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, timeout=60)
    assert result.returncode == -signal.SIGTERM, result.stderr
    evaltrace.set_tracking_uri(uri)
    assert stored_count() == 200


def test_a_replay_cut_short_by_a_crash_is_picked_up_again(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    evaltrace.configure(spool_dir=str(spool))
    missing = tmp_path / "later"
    evaltrace.set_tracking_uri(f"sqlite:///{missing / 'db.sqlite'}")
    assert [handle(i) for i in range(5)] == list(range(5))
    assert evaltrace.flush(timeout=1) is False
    writer = get_session().pipeline().writer  # this "process" goes away without flushing ...
    writer.stop()
    writer._thread.join(timeout=10)  # type: ignore[union-attr]
    get_session().pipeline().spool.close()  # type: ignore[union-attr]  # its lock goes with it
    install_session(Session(tracking_uri=evaltrace.get_tracking_uri()))  # a new process
    # ... and its file is left claimed by a replayer that died too.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (spooled,) = spool.iterdir()
    spooled.rename(spooled.with_name(f"spool-{dead}-cafe.{dead}.replaying"))
    missing.mkdir()
    evaltrace.configure(spool_dir=str(spool))
    assert evaltrace.recover(timeout=30) is True
    assert stored_count() == 5 and not list(spool.iterdir())


def test_threads_and_processes_share_one_sqlite_file(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    worker = (
        "import sys, threading, evaltrace\n"
        f"evaltrace.configure(tracking_uri={uri!r}, spool_dir={str(tmp_path / 'spool')!r})\n"
        "@evaltrace.trace\n"
        "def work(p, t, i): return i\n"
        "def run(t):\n"
        "    for i in range(50): work(int(sys.argv[1]), t, i)\n"
        "threads = [threading.Thread(target=run, args=(t,)) for t in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "assert evaltrace.flush(timeout=60)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    processes = [
        subprocess.Popen([sys.executable, "-c", worker, str(p)], env=env, stderr=subprocess.PIPE)
        for p in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr.decode()
        assert b"locked" not in stderr and b"dropped" not in stderr
    evaltrace.set_tracking_uri(uri)
    traces = evaltrace.search_traces(return_type="list")
    assert len(traces) == 4 * 8 * 50
    assert (
        len(
            {
                (
                    t.data.spans[0].inputs["p"],
                    t.data.spans[0].inputs["t"],
                    t.data.spans[0].inputs["i"],
                )
                for t in traces
            }
        )
        == 1600
    )


@pytest.mark.allow_drops
def test_flush_says_false_when_traces_were_dropped_instead_of_written() -> None:
    def broken(path: tuple, text: str) -> str:
        raise RuntimeError("a redaction rule with a bug")

    handle(1)
    assert evaltrace.flush(timeout=30) is True
    evaltrace.set_redaction_callback(broken)
    try:
        handle(2)
        assert evaltrace.flush(timeout=30) is False  # was True: 0 stored, "all written"
    finally:
        evaltrace.set_redaction_callback(None)
    status = evaltrace.export_status()
    assert (status.written, status.spilled, status.dropped, status.queued) == (1, 0, 1, 0)
    assert status.last_error is not None
    assert "could not be converted" in status.last_error
    assert "a redaction rule with a bug" in status.last_error
    assert stored_count() == 1


def test_the_spool_never_holds_the_database_password(
    tmp_path: Path, postgres_server_url: str
) -> None:
    """Spool lines carried the tracking URI with the password in it. Now they hold it masked,
    and the replay finds the live URI that matches."""
    from sqlalchemy import create_engine, text

    name = f"evaltrace_spoolpw_{os.getpid()}"
    base, _, _ = postgres_server_url.rpartition("/")
    scheme, _, rest = base.partition("://")
    user, _, host = rest.partition("@")
    uri = f"{scheme}://{user.split(':')[0]}:s3cret-pw@{host}/{name}"  # trust auth ignores it
    spool = tmp_path / "spool"
    evaltrace.configure(tracking_uri=uri, spool_dir=str(spool))
    assert [handle(i) for i in range(3)] == [0, 1, 2]
    assert evaltrace.flush(timeout=2) is False  # the database does not exist yet: spooled
    (spooled,) = spool.iterdir()
    content = spooled.read_text()
    assert "s3cret-pw" not in content and ":***@" in content
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        assert evaltrace.recover(timeout=60) is True  # replayed to the live URI, password and all
        assert stored_count() == 3
    finally:
        get_session().release_connections()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_an_unusable_spool_directory_costs_no_trace_and_recover_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A spool path under a file made every traced call fail (untraced) with
    NotADirectoryError, and recover() raised it untyped."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    evaltrace.configure(spool_dir=str(blocker / "spool"))
    with caplog.at_level("WARNING", logger="evaltrace"):
        assert [handle(i) for i in range(3)] == [0, 1, 2]
        assert evaltrace.flush(timeout=30) is True
    assert stored_count() == 3  # traced and stored all the same
    assert "cannot be used" in caplog.text
    with pytest.raises(evaltrace.InvalidArgumentError, match="a-file/spool' cannot be used"):
        evaltrace.recover(timeout=1)
