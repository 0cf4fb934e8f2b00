"""Annotation speed: log_expectation one call at a time, and in bulk.

Run: python bench/bench_annotate.py
Medians of several runs, next to a baseline measured in the same run: get_trace of one trace.
"""

from __future__ import annotations

import statistics
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, report

import evaltrace


@evaltrace.trace
def answer(question: str) -> str:
    return question.upper()


def main(traces: int = 1000, bulk: int = 10_000, runs: int = 5) -> None:
    evaltrace.set_tracking_uri(fresh_sqlite_uri())
    for i in range(traces):
        answer(f"question {i}")
    ids = [
        t.info.trace_id for t in evaltrace.search_traces(return_type="list", include_spans=False)
    ]
    assert len(ids) == traces

    per_get = []
    for trace_id in ids[:200]:
        start = time.perf_counter()
        evaltrace.get_trace(trace_id)
        per_get.append((time.perf_counter() - start) * 1000)
    baseline = statistics.median(per_get)
    report("get_trace of one trace (baseline)", baseline, "ms")

    per_call = []
    for trace_id in ids:
        start = time.perf_counter()
        evaltrace.log_expectation(trace_id=trace_id, name="expected_answer", value={"must": ["x"]})
        per_call.append((time.perf_counter() - start) * 1000)
    report(
        f"log_expectation on {traces:,} traces, median per call",
        statistics.median(per_call),
        "ms",
        baseline,
    )

    bulk_times = []
    for run in range(runs):
        records = [
            {"trace_id": ids[i % traces], "name": f"bulk_{run}", "value": i} for i in range(bulk)
        ]
        start = time.perf_counter()
        evaltrace.log_expectations(records)
        bulk_times.append(time.perf_counter() - start)
    report(
        f"log_expectations of {bulk:,} assessments, one transaction",
        statistics.median(bulk_times) * 1000,
        "ms",
        baseline,
    )


if __name__ == "__main__":
    main()
