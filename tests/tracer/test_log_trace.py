"""log_trace: a trace made from a logged request and response (the reference's mlflow.log_trace)."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import TraceState
from evaltrace.exceptions import InvalidArgumentError


def test_a_logged_request_becomes_a_searchable_trace_with_its_times_and_tags() -> None:
    trace_id = evaltrace.log_trace(
        name="support",
        request={"question": "How do I get a refund?"},
        response="Within 30 days, from the orders page.",
        intermediate_outputs={"retrieve": ["doc-7", "doc-9"], "rerank": ["doc-9"]},
        attributes={"model": "gpt-4o-mini", "temperature": 0.2},
        tags={"source": "nginx-log"},
        start_time_ms=1_700_000_000_000,
        execution_time_ms=1250,
    )
    assert trace_id is not None
    trace = evaltrace.get_trace(trace_id)
    assert trace.info.state is TraceState.OK
    assert trace.info.request_time == 1_700_000_000_000
    assert trace.info.execution_duration == 1250
    assert trace.info.tags["source"] == "nginx-log"
    assert trace.data.request == '{"question": "How do I get a refund?"}'
    assert trace.data.response == '"Within 30 days, from the orders page."'
    assert trace.data.intermediate_outputs == {"retrieve": ["doc-7", "doc-9"], "rerank": ["doc-9"]}
    root = trace.data.root_span
    assert root.name == "support" and root.attributes["model"] == "gpt-4o-mini"
    assert [s.parent_id for s in trace.data.spans if s is not root] == [root.span_id] * 2
    found = evaltrace.search_traces(filter_string="tags.source = 'nginx-log'", return_type="list")
    assert [t.info.trace_id for t in found] == [trace_id]


def test_it_is_a_trace_of_its_own_inside_a_running_trace_and_is_redacted() -> None:
    exported = InMemorySpanExporter()
    evaltrace.add_span_processor(SimpleSpanProcessor(exported))

    @evaltrace.trace
    def handler() -> str | None:
        return evaltrace.log_trace(request={"api_key": "sk-live-secret"}, response="ok")

    logged = handler()
    outer = evaltrace.get_last_active_trace_id()
    assert logged is not None and logged != outer
    trace = evaltrace.get_trace(logged)
    assert len(trace.data.spans) == 1 and "sk-live-secret" not in trace.to_json()
    assert len(evaltrace.get_trace(outer).data.spans) == 1  # the handler's span alone
    assert all(
        "sk-live-secret" not in str(dict(s.attributes or {})) for s in exported.get_finished_spans()
    )


def test_bad_arguments_raise_before_anything_is_logged() -> None:
    for kwargs, message in (
        ({"name": ""}, "name"),
        ({"start_time_ms": -1}, "start_time_ms must be a non-negative int"),
        ({"execution_time_ms": 1.5}, "execution_time_ms must be a non-negative int"),
        ({"intermediate_outputs": ["a"]}, "intermediate_outputs must be a mapping"),
        ({"tags": "env=prod"}, "tags must be a mapping"),
        ({"attributes": 3}, "attributes must be a mapping"),
    ):
        with pytest.raises(InvalidArgumentError, match=message):
            evaltrace.log_trace(**kwargs)
    evaltrace.flush()
    assert evaltrace.search_traces(return_type="list") == []


def test_nothing_is_logged_while_tracing_is_off() -> None:
    evaltrace.tracing.disable()
    try:
        assert evaltrace.log_trace(request="q", response="a") is None
    finally:
        evaltrace.tracing.enable()
    evaltrace.flush()
    assert evaltrace.search_traces(return_type="list") == []
