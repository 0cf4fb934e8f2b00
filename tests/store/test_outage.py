"""A PostgreSQL server stopped mid-run and started again: every trace of the run is stored."""

from __future__ import annotations

import os
import time

import pytest

import evaltrace
from evaltrace.tracer import runtime
from tests.postgres import PostgresCluster, find_pg_bin
from tests.waiting import eventually


@evaltrace.trace
def handle(i: int) -> int:
    return i


def test_postgres_stopped_and_started_mid_run_loses_nothing() -> None:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("CI") or os.environ.get("EVALTRACE_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is required here (CI) but initdb was not found")
        pytest.skip("PostgreSQL is not installed")
    cluster = PostgresCluster(bin_dir)
    cluster.start()
    try:
        evaltrace.set_tracking_uri(cluster.url)
        assert [handle(i) for i in range(20)] == list(range(20))
        assert evaltrace.flush(timeout=30)

        cluster.stop()
        started = time.monotonic()
        assert [handle(i) for i in range(20, 60)] == list(range(20, 60))  # the app carries on
        assert evaltrace.flush(timeout=2) is False  # ... its traces wait in the spool
        writer = runtime.get_runtime().writer
        assert eventually(lambda: writer.spilled == 40) and writer.dropped == 0
        time.sleep(1)

        cluster.start()
        assert evaltrace.flush(timeout=60)
        outage = time.monotonic() - started
        inputs = sorted(
            t.data.spans[0].inputs["i"] for t in evaltrace.search_traces(return_type="list")
        )
        assert inputs == list(range(60)), f"outage of {outage:.1f}s"
    finally:
        evaltrace.flush(timeout=10)
        from evaltrace.store import registry

        registry.reset_stores()
        cluster.remove()
