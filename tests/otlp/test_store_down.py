"""The OTLP endpoint with its store down: refused with 503 and Retry-After, never 200."""

from __future__ import annotations

import os
from pathlib import Path

from google.rpc import status_pb2

from tests.otlp.requests import new_trace_id, post, request, span
from tests.server.live import free_port, running_server


def test_a_store_that_cannot_be_reached_answers_503_with_retry_after(tmp_path: Path) -> None:
    """Nothing accepted-then-lost: exporters retry a 503 with Retry-After."""
    down = f"postgresql+psycopg://evaltrace@127.0.0.1:{free_port()}/nowhere"
    with running_server(down, tmp_path / "spool") as base:
        response = post(base, request(span(new_trace_id(), os.urandom(8), "x")))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "cannot be reached" in status_pb2.Status.FromString(response.content).message
