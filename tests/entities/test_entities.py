"""Entities: immutable, round-trip through dicts and JSON, helpers on Trace."""

from __future__ import annotations

import dataclasses

import pytest

from evaltrace.entities import (
    Span,
    SpanStatus,
    SpanStatusCode,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)


def sample() -> Trace:
    root = Span(
        trace_id="tr-1",
        span_id="a" * 16,
        parent_id=None,
        name="root",
        span_type="CHAIN",
        start_time_ns=10,
        end_time_ns=50,
        inputs={"q": "x"},
        outputs="y",
        status=SpanStatus(status_code=SpanStatusCode.OK),
    )
    child = Span(
        trace_id="tr-1",
        span_id="b" * 16,
        parent_id="a" * 16,
        name="llm",
        span_type="LLM",
        start_time_ns=20,
        end_time_ns=None,
    )
    info = TraceInfo(
        trace_id="tr-1",
        experiment_id="0",
        request_time=0,
        execution_duration=None,
        state=TraceState.IN_PROGRESS,
        tags={"a": "b"},
    )
    return Trace(info=info, data=TraceData(spans=(root, child)))


def test_round_trips() -> None:
    trace = sample()
    assert Trace.from_dict(trace.to_dict()) == trace
    assert Trace.from_json(trace.to_json(pretty=True)) == trace
    assert trace.to_dict()["info"]["state"] == "IN_PROGRESS"


def test_entities_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample().info.trace_id = "other"  # type: ignore[misc]


def test_trace_helpers() -> None:
    trace = sample()
    root = trace.data._get_root_span()
    assert root is not None and root.name == "root"
    assert trace.data.request == '{"q": "x"}' and trace.data.response == '"y"'
    assert [s.name for s in trace.search_spans(span_type="LLM")] == ["llm"]
    assert trace.search_spans(name="root", span_type="LLM") == []
    assert [s.name for s in trace.search_spans(span_id="b" * 16)] == ["llm"]
    assert root.duration_ns == 40 and trace.data.spans[1].duration_ns is None
    assert trace.info.request_id == "tr-1"
    assert TraceData().request is None
