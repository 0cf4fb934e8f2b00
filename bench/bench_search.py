"""search_traces latency on large stores, SQLite and PostgreSQL.

Run: python bench/bench_search.py [--sizes 10000,100000,1000000] [--postgres URL]
Without --postgres the benchmark starts a throwaway PostgreSQL cluster if Debian's package is
installed (as the tests do). Each figure is the median of 7 runs, next to a baseline measured
in the same run: get_trace of one known trace (a primary-key lookup with its spans).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator

sys.path.insert(0, __file__.rsplit("/", 2)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, report

from evaltrace.entities import (
    Span,
    SpanStatus,
    SpanStatusCode,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from evaltrace.search import parse_filter
from evaltrace.store import sql_store
from evaltrace.store.sql_store import SqlStore

NAMES = [f"endpoint_{i}" for i in range(100)]
ENVS = ["prod", "dev", "staging"]
TYPES = ["LLM", "CHAIN", "TOOL", "RETRIEVER", "EMBEDDING"]
BATCH = 5000


def make_traces(
    rng: random.Random, start: int, count: int, spans_per_trace: int, experiment_id: str
) -> Iterator[list[Trace]]:
    batch: list[Trace] = []
    for n in range(start, start + count):
        trace_id = f"tr-{rng.getrandbits(128):032x}"
        t0 = 1_700_000_000_000_000_000 + n * 1_000_000
        spans = []
        root_id = f"{rng.getrandbits(64):016x}"
        for s in range(spans_per_trace):
            duration = rng.randrange(1_000, 5_000_000_000)
            spans.append(
                Span(
                    trace_id=trace_id,
                    span_id=root_id if s == 0 else f"{rng.getrandbits(64):016x}",
                    parent_id=None if s == 0 else root_id,
                    name=rng.choice(NAMES),
                    span_type=rng.choice(TYPES),
                    start_time_ns=t0 + s,
                    end_time_ns=t0 + s + duration,
                    status=SpanStatus(status_code=SpanStatusCode.OK),
                    inputs={"question": f"q{n}"},
                    outputs="answer",
                    attributes={
                        "model": rng.choice(["gpt-4o", "gpt-4o-mini"]),
                        "response_id": f"resp-{n}-{s}",  # one span in the whole store
                    },
                )
            )
        info = TraceInfo(
            trace_id=trace_id,
            experiment_id=experiment_id,
            request_time=t0 // 1_000_000,
            execution_duration=spans[0].duration_ns // 1_000_000,
            state=TraceState.OK,
            tags={"env": rng.choice(ENVS)},
            trace_metadata={"user": f"u{n % 1000}"},
        )
        batch.append(Trace(info=info, data=TraceData(spans=tuple(spans))))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def median_ms(fn: Callable[[], object], runs: int = 7) -> float:
    fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def measure(store: SqlStore, label: str, size: int, ten_span_experiment: str) -> None:
    one = store.search_traces(["0"], max_results=1, include_spans=False).traces[0].info.trace_id
    baseline = median_ms(lambda: store.get_trace(one))
    report(f"[{label} {size:>9,}] get_trace by id (baseline)", baseline, "ms")
    equality = parse_filter("attributes.name = 'endpoint_7' AND tags.env = 'prod'")
    span_filter = parse_filter("span.type = 'LLM' AND span.duration_ns > 4000000000")

    def search(filter_, experiment="0", **kw):
        page = store.search_traces([experiment], filter=filter_, max_results=100, **kw)
        assert len(page.traces) == 100 or size < 100_000, len(page.traces)
        return page

    report(
        f"[{label} {size:>9,}] name = AND tags.env = , 100 with spans",
        median_ms(lambda: search(equality)),
        "ms",
        baseline,
    )
    report(
        f"[{label} {size:>9,}] span.type AND span.duration_ns >, 100",
        median_ms(lambda: search(span_filter)),
        "ms",
        baseline,
    )
    report(
        f"[{label} {size:>9,}] same, on the 10-span traces",
        median_ms(lambda: search(span_filter, ten_span_experiment)),
        "ms",
        baseline,
    )
    rare = parse_filter(f"span.attributes.response_id = 'resp-{size // 2}-0'")
    report(
        f"[{label} {size:>9,}] span.attributes = a value one span holds",
        median_ms(lambda: store.search_traces(["0"], filter=rare, max_results=100)),
        "ms",
        baseline,
    )
    if label == "sqlite":  # the same query as SQLite planned it before the rare-value subquery
        sql_store._RARE, rare_limit = 0, sql_store._RARE
        report(
            f"[{label} {size:>9,}]   same, without the rare-value subquery",
            median_ms(lambda: store.search_traces(["0"], filter=rare, max_results=100), runs=3),
            "ms",
            baseline,
        )
        sql_store._RARE = rare_limit
    if size >= 100_000:
        # Page through 100,000 traces, 100 at a time, spans not loaded.
        token, tokens = None, {}
        for page_number in range(1, 1001):
            tokens[page_number] = token
            token = store.search_traces(
                ["0"], max_results=100, page_token=token, include_spans=False
            ).next_page_token
        first = median_ms(lambda: store.search_traces(["0"], max_results=100, include_spans=False))
        last = median_ms(
            lambda: store.search_traces(
                ["0"], max_results=100, page_token=tokens[1000], include_spans=False
            )
        )
        report(f"[{label} {size:>9,}] page 1 of 100 traces, no spans", first, "ms", baseline)
        report(f"[{label} {size:>9,}] page 1,000 of 100 traces, no spans", last, "ms", first)


def run(label: str, uri: str, sizes: list[int]) -> None:
    store = SqlStore(uri)
    ten = store.get_or_create_experiment("ten-span").experiment_id
    rng = random.Random(1)
    have = 0
    for size in sizes:
        start = time.perf_counter()
        for batch in make_traces(rng, have, size - have, 1, "0"):
            store.write_traces(batch)
        # The 10-span traces: a tenth as many.
        for batch in make_traces(rng, 10**9 + have // 10, (size - have) // 10, 10, ten):
            store.write_traces(batch)
        loaded = time.perf_counter() - start
        report(
            f"[{label} {size:>9,}] loaded (+10% as 10-span traces)",
            (size - have) * 1.1 / loaded,
            "traces/s",
        )
        have = size
        measure(store, label, size, ten)
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.only != "postgresql":
        run("sqlite", fresh_sqlite_uri(), sizes)
    if args.only == "sqlite":
        return
    with contextlib.ExitStack() as stack:
        url = args.postgres
        if url is None:
            from tests.postgres import find_pg_bin, postgres_server

            bin_dir = find_pg_bin()
            if bin_dir is None:
                print("PostgreSQL not installed: skipped")
                return
            url = stack.enter_context(postgres_server(bin_dir))
        run("postgresql", url, sizes)


if __name__ == "__main__":
    main()
