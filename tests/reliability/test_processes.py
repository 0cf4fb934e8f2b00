"""multiprocessing workers, fork and spawn: every trace a worker made is stored, once.

No worker flushes by itself: the way each kind of worker ends must do it (a Process returning,
a Pool closed and joined, a Pool left by its ``with`` block, which terminates its workers).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from pathlib import Path

import pytest

import evaltrace
from tests.reliability.workers import trace_many, work

PER_WORKER = 50
pytestmark = pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")


def stored_by_worker() -> Counter[int]:
    traces = evaltrace.search_traces(return_type="list", max_results=100_000)
    keys = Counter((t.data.spans[0].inputs["worker"], t.data.spans[0].inputs["i"]) for t in traces)
    assert max(keys.values(), default=1) == 1, "a trace was stored twice"
    return Counter(worker for worker, _ in keys)


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_workers_store_every_trace(method: str, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    evaltrace.set_tracking_uri(uri)
    for i in range(PER_WORKER):
        work(-1, i)  # queued in the parent while the children start
    context = multiprocessing.get_context(method)
    workers = [context.Process(target=trace_many, args=(uri, w, PER_WORKER)) for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert stored_by_worker() == {-1: PER_WORKER, 0: PER_WORKER, 1: PER_WORKER, 2: PER_WORKER}


@pytest.mark.parametrize("method", ["fork", "spawn"])
@pytest.mark.parametrize("ending", ["close_and_join", "with_block"])
def test_pool_workers_store_every_trace(method: str, ending: str, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    evaltrace.set_tracking_uri(uri)
    jobs = [(uri, w, PER_WORKER) for w in range(8)]
    context = multiprocessing.get_context(method)
    if ending == "with_block":
        with context.Pool(2) as pool:  # __exit__ terminates the workers (SIGTERM)
            results = pool.starmap(trace_many, jobs)
    else:
        pool = context.Pool(2)
        results = pool.starmap(trace_many, jobs)
        pool.close()
        pool.join()
    assert results == [sum(range(PER_WORKER))] * 8
    assert stored_by_worker() == dict.fromkeys(range(8), PER_WORKER)
