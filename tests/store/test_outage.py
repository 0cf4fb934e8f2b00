"""A PostgreSQL server stopped mid-run and started again: every trace of the run is stored."""

from __future__ import annotations

import threading
import time

import evaltrace
from evaltrace._session import get_session
from tests.postgres import PostgresCluster
from tests.waiting import eventually


@evaltrace.trace
def handle(i: int) -> int:
    return i


def test_postgres_stopped_and_started_mid_run_loses_nothing(cluster: PostgresCluster) -> None:
    assert [handle(i) for i in range(20)] == list(range(20))
    assert evaltrace.flush(timeout=30)

    cluster.stop()
    started = time.monotonic()
    assert [handle(i) for i in range(20, 60)] == list(range(20, 60))  # the app carries on
    assert evaltrace.flush(timeout=2) is False  # ... its traces wait in the spool
    writer = get_session().pipeline().writer
    assert eventually(lambda: writer.spilled == 40) and writer.dropped == 0
    time.sleep(1)

    cluster.start()
    assert evaltrace.flush(timeout=60)
    outage = time.monotonic() - started
    inputs = sorted(
        t.data.spans[0].inputs["i"] for t in evaltrace.search_traces(return_type="list")
    )
    assert inputs == list(range(60)), f"outage of {outage:.1f}s"


def test_spooled_traces_are_replayed_while_traffic_never_stops(cluster: PostgresCluster) -> None:
    """The writer lingers for full batches, so a steady stream never empties its queue: the
    replay must not wait for a quiet moment."""
    sent = 0
    stop = threading.Event()

    def traffic() -> None:  # a trace every 2 ms, through the outage and after it
        nonlocal sent
        while not stop.is_set():
            handle(sent)
            sent += 1
            time.sleep(0.002)

    writer = get_session().pipeline().writer
    cluster.stop()
    app = threading.Thread(target=traffic)
    app.start()
    try:
        assert eventually(lambda: writer.spilled >= 30)
        cluster.start()
        assert eventually(lambda: not writer.spool_pending, timeout=30), "not replayed"
        assert app.is_alive()  # ... while the traffic went on
    finally:
        stop.set()
        app.join()
    assert evaltrace.flush(timeout=30)
    inputs = sorted(
        t.data.spans[0].inputs["i"]
        for t in evaltrace.search_traces(return_type="list", max_results=sent + 10)
    )
    assert inputs == list(range(sent)) and writer.dropped == 0
