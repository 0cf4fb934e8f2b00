"""Helpers shared by the benchmarks: timing with medians, and a fresh store."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["fresh_sqlite_uri", "median_us_per_call", "report"]


def median_us_per_call(
    fn: Callable[[], object],
    *,
    calls: int,
    runs: int = 7,
    between_runs: Callable[[], object] | None = None,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> float:
    """Median over ``runs`` of the mean time per call, in microseconds.

    ``between_runs`` runs outside the timed loops (the tracing benchmarks flush there).
    ``clock=time.thread_time_ns`` counts only the CPU time of the calling thread, leaving out
    what the background writer spends in the same process.
    """
    fn()  # warm up
    samples = []
    for _ in range(runs):
        if between_runs is not None:
            between_runs()
        start = clock()
        for _ in range(calls):
            fn()
        samples.append((clock() - start) / calls / 1000)
    return statistics.median(samples)


def fresh_sqlite_uri() -> str:
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix='evaltrace-bench-')) / 'bench.db'}"


def report(label: str, value: float, unit: str, baseline: float | None = None) -> None:
    ratio = f"   {value / baseline:5.2f}x baseline" if baseline else ""
    print(f"{label:<58} {value:10.1f} {unit}{ratio}", flush=True)
