"""Server replicas over one PostgreSQL behind a proxy: one killed with SIGKILL mid-run loses
nothing (what it answered 2xx for is stored; the rest is sent again, to the other)."""

from __future__ import annotations

from pathlib import Path

import evaltrace
from tests.server.live import server_process
from tests.server.proxy import round_robin_proxy


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_a_replica_killed_mid_run_loses_nothing(postgres_uri: str, tmp_path: Path) -> None:
    with (
        server_process(postgres_uri, tmp_path / "a") as (first, doomed),
        server_process(postgres_uri, tmp_path / "b") as (second, _),
        round_robin_proxy([("127.0.0.1", _port(first)), ("127.0.0.1", _port(second))]) as url,
    ):
        # The proxy gives the first connection to the doomed replica, and the HTTP store keeps
        # its connections: the run's first half goes there, the rest after the kill elsewhere.
        evaltrace.configure(tracking_uri=url, store_timeout=5.0, batch_size=20)

        @evaltrace.trace
        def handle(i: int) -> int:
            return i

        for i in range(300):
            handle(i)
            if i == 150:
                doomed.kill()  # SIGKILL: no goodbye, connections cut mid-request
        assert evaltrace.flush(timeout=120), evaltrace.export_status()
        found = evaltrace.search_traces(return_type="list", max_results=1000)
        inputs = sorted(t.data.spans[0].inputs["i"] for t in found)
    assert inputs == list(range(300))  # every trace, each once
    assert evaltrace.export_status().dropped == 0
