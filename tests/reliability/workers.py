"""Functions run by multiprocessing workers (importable by name, as spawn requires)."""

from __future__ import annotations

import evaltrace


@evaltrace.trace
def work(worker: int, i: int) -> int:
    return i


def trace_many(uri: str, worker: int, count: int) -> int:
    """Trace ``count`` calls and return without flushing: the worker's exit must do it."""
    evaltrace.set_tracking_uri(uri)
    return sum(work(worker, i) for i in range(count))
