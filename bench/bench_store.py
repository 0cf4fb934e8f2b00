"""Writing traces as the store grows: time-ordered trace ids against random ones.

Run: python bench/bench_store.py [traces]   (default 60,000 traces per database)

Each variant writes the same OpenAI-shaped traces (a root span and a chat span with 13
attributes) in batches of 100 into a fresh SQLite file, once with random 128-bit trace ids
(the OpenTelemetry default, the baseline) and once with evaltrace's time-ordered ids. Figures:
CPU time per trace of write_traces over the last sixth of the traces (the database at its
largest), median of alternating runs. With random ids every insert lands on a random page of
each trace-keyed index; once the indexes outgrow SQLite's page cache that costs reads.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable

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
from evaltrace.store.sql_store import SqlStore
from evaltrace.tracer.ids import TimeOrderedIdGenerator

BATCH = 100
_ATTRIBUTES = {
    "gen_ai.system": "openai",
    "gen_ai.operation.name": "chat",
    "evaltrace.openai.base_url": "http://127.0.0.1:8000/v1/",
    "server.address": "127.0.0.1",
    "server.port": 8000,
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini",
    "gen_ai.response.id": "chatcmpl-bench",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.usage.input_tokens": 5,
    "gen_ai.usage.output_tokens": 7,
    "gen_ai.usage.total_tokens": 12,
    "evaltrace.cost_usd": 4.95e-06,
}


def make_trace(trace_id: int) -> Trace:
    tid = f"tr-{trace_id:032x}"
    start = time.time_ns()
    root_id, chat_id = f"{random.getrandbits(64):016x}", f"{random.getrandbits(64):016x}"
    question = {"question": "What is your refund policy?"}
    root = Span(
        trace_id=tid,
        span_id=root_id,
        parent_id=None,
        name="answer",
        span_type="CHAIN",
        start_time_ns=start,
        end_time_ns=start + 2_000_000,
        status=SpanStatus(status_code=SpanStatusCode.OK),
        inputs=question,
        outputs="Refunds within 30 days.",
    )
    chat = Span(
        trace_id=tid,
        span_id=chat_id,
        parent_id=root_id,
        name="openai.chat.completions",
        span_type="CHAT_MODEL",
        start_time_ns=start + 1000,
        end_time_ns=start + 1_000_000,
        status=SpanStatus(status_code=SpanStatusCode.OK),
        inputs={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Refunds?"}]},
        outputs={"choices": [{"message": {"content": "Refunds within 30 days."}}]},
        attributes=dict(_ATTRIBUTES),
    )
    info = TraceInfo(
        trace_id=tid,
        experiment_id="0",
        request_time=start // 1_000_000,
        execution_duration=2,
        state=TraceState.OK,
        request_preview='{"question": "What is your refund policy?"}',
        response_preview="Refunds within 30 days.",
        token_usage={"input_tokens": 5, "output_tokens": 7, "total_tokens": 12},
    )
    return Trace(info=info, data=TraceData(spans=(root, chat)))


def write_all(new_id: Callable[[], int], total: int) -> float:
    """CPU us per trace of write_traces over the last sixth of ``total`` traces."""
    store = SqlStore(fresh_sqlite_uri())
    tail: list[int] = []
    for written in range(0, total, BATCH):
        traces = [make_trace(new_id()) for _ in range(BATCH)]
        start = time.thread_time_ns()
        store.write_traces(traces)
        if written >= total - total // 6:
            tail.append(time.thread_time_ns() - start)
    store.engine.dispose()
    return sum(tail) / (len(tail) * BATCH) / 1000


def main(total: int = 60_000, runs: int = 3) -> None:
    ordered = TimeOrderedIdGenerator().generate_trace_id
    random_ids, ordered_ids = [], []
    for _ in range(runs):
        random_ids.append(write_all(lambda: random.getrandbits(128), total))
        ordered_ids.append(write_all(ordered, total))
    baseline = statistics.median(random_ids)
    label = f"write_traces at {total * 5 // 6:,}-{total:,} traces"
    report(f"{label}, random ids (CPU, baseline)", baseline, "us/trace")
    report(f"{label}, time-ordered ids (CPU)", statistics.median(ordered_ids), "us/trace", baseline)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60_000)
