"""Dataset speed on SQLite: merges, to_df, traces, reading an old version of a big dataset.

Run: python bench/bench_datasets.py
Medians of 3 runs. Baseline (same run): inserting the same 10,000 records as JSON text with
the sqlite3 module's executemany into a one-table database, the floor for any SQL dataset.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, report

import evaltrace
from evaltrace.datasets import create_dataset, get_dataset


def records(count: int, offset: int = 0) -> list[dict]:
    return [
        {
            "inputs": {"question": f"question {i}", "context": "support"},
            "expectations": {"expected_answer": f"answer {i}", "must_mention": ["30 days"]},
            "tags": {"bucket": f"b{i % 7}"},
        }
        for i in range(offset, offset + count)
    ]


def timed(
    fn: Callable[[], object], runs: int = 3, setup: Callable[[], object] | None = None
) -> float:
    samples = []
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def baseline(rows: list[dict]) -> float:
    def insert() -> None:
        path = Path(tempfile.mkdtemp()) / "floor.db"
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, doc TEXT)")
            connection.executemany(
                "INSERT INTO r (doc) VALUES (?)", [(json.dumps(r),) for r in rows]
            )

    return timed(insert)


def main() -> None:
    evaltrace.set_tracking_uri(fresh_sqlite_uri())
    rows = records(10_000)
    floor = baseline(rows)
    report("sqlite3 executemany of 10,000 JSON rows (baseline)", floor, "ms")

    names = iter(range(1000))
    state: dict = {}

    def new_dataset() -> None:
        state["ds"] = create_dataset(f"bench_{next(names)}")

    report(
        "merge_records of 10,000 new dict records",
        timed(lambda: state["ds"].merge_records(rows), setup=new_dataset),
        "ms",
        floor,
    )
    report(
        "the same 10,000 again (no change, no new version)",
        timed(lambda: state["ds"].merge_records(rows)),
        "ms",
        floor,
    )
    assert state["ds"].version == 1
    report(
        "to_df() of 10,000 records (fresh handle)",
        timed(lambda: get_dataset(state["ds"].name).to_df()),
        "ms",
        floor,
    )

    @evaltrace.trace
    def answer(question: str) -> str:
        return question.upper()

    for i in range(1000):
        answer(f"traced question {i}")
    traces = evaltrace.search_traces(return_type="list")
    report(
        "merge_records of 1,000 Trace objects",
        timed(lambda: state["ds"].merge_records(traces), setup=new_dataset),
        "ms",
        floor,
    )

    big = create_dataset("big")
    big.merge_records(records(100_000))
    for version in range(2, 11):  # nine more versions, each updating 1,000 records
        batch = records(1000, offset=version * 1000)
        for record in batch:
            record["expectations"]["revision"] = version
        big.merge_records(batch)
    assert big.version == 10
    report(
        "read version 1 of a 100,000-record dataset (10 versions)",
        timed(lambda: len(get_dataset("big", version=1).records)),
        "ms",
        floor,
    )


if __name__ == "__main__":
    main()
