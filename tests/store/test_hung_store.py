"""A PostgreSQL server that stops answering (every process SIGSTOPped): no call of the app's
waits on it, readers fail typed within the store timeout, exit takes the flush timeout once and
leaves every trace in the spool."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import evaltrace
from evaltrace.exceptions import StoreUnavailableError
from evaltrace.tracer.spool import spool_files
from tests.postgres import PostgresCluster

SENT = 500


def test_exit_with_a_hung_store_leaves_every_trace_in_the_spool(
    cluster: PostgresCluster, tmp_path: Path
) -> None:
    """Was: the writer blocked in a connect with no timeout, nothing was spooled, exit waited
    ~60 s (exit flush plus provider shutdown) and then all queued traces were lost."""
    spool = tmp_path / "spool"
    child = (
        "import sys, time, evaltrace\n"
        f"evaltrace.configure(tracking_uri={cluster.url!r}, spool_dir={str(spool)!r},\n"
        "                     store_timeout=2, flush_on_exit_timeout=3)\n"
        "@evaltrace.trace\n"
        "def work(i): return i\n"
        "for i in range(20): work(i)\n"
        "assert evaltrace.flush(timeout=30)  # connected, the pool warm\n"
        "print('ready', flush=True); sys.stdin.readline()  # the server hangs now\n"
        "started = time.monotonic()\n"
        f"for i in range(20, {20 + SENT}): work(i)\n"
        "print(f'calls {time.monotonic() - started:.3f}', flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    app = subprocess.Popen(
        [sys.executable, "-c", child],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert app.stdout is not None and app.stdin is not None
    assert app.stdout.readline() == "ready\n"
    with cluster.frozen():
        started = time.monotonic()
        try:
            stdout, stderr = app.communicate("go\n", timeout=60)  # a guard against a hang
        except subprocess.TimeoutExpired:
            app.kill()
            app.communicate()
            pytest.fail("the app did not exit with the store hung")
        exited_after = time.monotonic() - started
        assert app.returncode == 0, stderr
        print(f"{stdout.strip()}; exit {exited_after:.1f} s after the store hung")
        assert "did not answer within 2 s (EVALTRACE_STORE_TIMEOUT)" in stderr
        spooled = sum(file.traces for file in spool_files(spool))
        assert spooled >= SENT  # all of them (the batch in flight may be there twice)
    evaltrace.configure(spool_dir=str(spool))
    assert evaltrace.recover(timeout=60) is True
    inputs = sorted(
        t.data.spans[0].inputs["i"]
        for t in evaltrace.search_traces(return_type="list", max_results=1000)
    )
    assert inputs == list(range(20 + SENT))


def test_readers_fail_typed_within_the_store_timeout(cluster: PostgresCluster) -> None:
    """Was: get_trace() did not return for minutes."""

    @evaltrace.trace
    def work() -> int:
        return 1

    work()
    trace_id = evaltrace.get_last_active_trace_id()
    assert evaltrace.get_trace(trace_id) is not None  # connected, the pool warm
    evaltrace.configure(store_timeout=1)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            evaltrace.search_traces(return_type="list")
        except BaseException as exc:
            errors.append(exc)

    with cluster.frozen():
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=30)  # a guard against a hang, not a measure
        assert not reader.is_alive(), "the read hung with the store"
    (error,) = errors
    assert isinstance(error, StoreUnavailableError)
    # A pooled connection is cut after 1 s; a new one (configure made a new pool) times out
    # connecting.
    assert "did not answer within 1 s" in str(error) or "timeout expired" in str(error)
    assert evaltrace.get_trace(trace_id).info.trace_id == trace_id  # the server is back
