"""Trace ids start with their creation time, so the store's indexes grow at one end."""

from __future__ import annotations

import time

import evaltrace
from evaltrace.tracer.ids import TimeOrderedIdGenerator


def test_traced_calls_get_ids_in_the_order_they_started() -> None:
    @evaltrace.trace
    def step(i: int) -> int:
        return i

    ids = []
    for i in range(5):
        before_ms = time.time_ns() // 1_000_000
        step(i)
        ids.append(evaltrace.get_last_active_trace_id())
        after_ms = time.time_ns() // 1_000_000
        prefix_ms = int(ids[-1].removeprefix("tr-")[:12], 16)
        assert before_ms <= prefix_ms <= after_ms
        time.sleep(0.002)
    assert ids == sorted(ids) and len(set(ids)) == 5
    assert [evaltrace.get_trace(trace_id).info.trace_id for trace_id in ids] == ids


def test_ids_made_in_the_same_millisecond_are_distinct_and_random_in_the_low_bits() -> None:
    generator = TimeOrderedIdGenerator()
    trace_ids = [generator.generate_trace_id() for _ in range(20_000)]
    assert len(set(trace_ids)) == len(trace_ids)
    low_56 = {trace_id & ((1 << 56) - 1) for trace_id in trace_ids}
    assert len(low_56) == len(trace_ids)  # what W3C's random flag and ratio samplers read
    span_ids = [generator.generate_span_id() for _ in range(20_000)]
    assert len(set(span_ids)) == len(span_ids) and 0 not in span_ids
    assert generator.is_trace_id_random()
