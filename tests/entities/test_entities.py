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


def test_root_span_request_and_response_of_a_root_without_payloads() -> None:
    import evaltrace

    with evaltrace.start_span("bare"):
        pass
    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    assert trace.data.root_span is trace.data._get_root_span() is trace.data.spans[0]
    assert trace.data.request is None and trace.data.response is None  # was the text 'null'


def test_trace_info_answers_to_the_reference_s_aliases() -> None:
    import evaltrace

    with evaltrace.start_span("aliased"):
        evaltrace.update_current_trace(metadata={"user": "u1"})
    info = evaltrace.get_trace(evaltrace.get_last_active_trace_id()).info
    assert (info.timestamp_ms, info.execution_time_ms) == (
        info.request_time,
        info.execution_duration,
    )
    assert info.status is info.state is evaltrace.TraceState.OK
    assert info.request_metadata == {"user": "u1"}
