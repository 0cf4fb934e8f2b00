"""start_span, live spans, trace updates, context across threads, other OpenTelemetry users."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace._session import get_session
from evaltrace.exceptions import InvalidArgumentError


def last_trace() -> evaltrace.Trace:
    trace_id = evaltrace.get_last_active_trace_id()
    assert trace_id is not None
    return evaltrace.get_trace(trace_id)


def test_readme_workflow_round_trip() -> None:
    evaltrace.set_experiment("support-bot")

    @evaltrace.trace(span_type=evaltrace.SpanType.CHAIN)
    def answer(question: str) -> str:
        with evaltrace.start_span("retrieve", span_type="RETRIEVER") as span:
            span.set_inputs({"query": question})
            span.set_outputs(["doc-1"])
        evaltrace.update_current_trace(tags={"env": "prod"}, metadata={"user": "u1"})
        return "Use the reset link."

    answer("How do I reset my password?")
    trace = last_trace()
    experiment = evaltrace.get_experiment_by_name("support-bot")
    assert experiment is not None and trace.info.experiment_id == experiment.experiment_id
    assert trace.info.tags == {"env": "prod"} and trace.info.trace_metadata == {"user": "u1"}
    assert trace.data.request == '{"question": "How do I reset my password?"}'
    assert trace.data.response == '"Use the reset link."'
    assert trace.info.request_preview == '{"question": "How do I reset my password?"}'
    assert trace.info.response_preview == "Use the reset link."
    assert trace.info.execution_duration is not None and trace.info.execution_duration >= 0
    (retriever,) = trace.search_spans(span_type="RETRIEVER")
    assert retriever.inputs == {"query": "How do I reset my password?"}
    assert retriever.outputs == ["doc-1"]
    assert evaltrace.Trace.from_dict(trace.to_dict()) == trace
    assert evaltrace.Trace.from_json(trace.to_json()) == trace
    listed = evaltrace.search_traces(max_results=10, return_type="list")
    assert [t.info.trace_id for t in listed] == [trace.info.trace_id]


def test_live_span_methods() -> None:
    with evaltrace.start_span("work", attributes={"model": "m1"}) as span:
        assert isinstance(span, evaltrace.LiveSpan)
        span.set_attribute("config", {"temperature": 0.2})
        span.set_attributes({"count": 3, "flag": False})
        span.add_event("checkpoint", {"step": 1, "detail": {"nested": True}})
        span.set_status("ERROR", "judged wrong")
        current = evaltrace.get_current_active_span()
        assert current is not None and current.span_id == span.span_id
    assert evaltrace.get_current_active_span() is None
    (stored,) = last_trace().data.spans
    assert stored.attributes == {
        "model": "m1",
        "config": {"temperature": 0.2},
        "count": 3,
        "flag": False,
    }
    (event,) = stored.events
    assert event.name == "checkpoint"
    assert event.attributes == {"step": 1, "detail": '{"nested": true}'}
    assert stored.status.status_code is evaltrace.SpanStatusCode.ERROR
    assert stored.status.description == "judged wrong"
    assert last_trace().info.state is evaltrace.TraceState.ERROR


def test_start_span_records_exception_and_propagates() -> None:
    with pytest.raises(ZeroDivisionError), evaltrace.start_span("divide"):
        1 / 0  # noqa: B018
    (span,) = last_trace().data.spans
    assert span.events[0].attributes["exception.type"] == "ZeroDivisionError"


def test_bad_arguments_raise_typed_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="span name"):
        evaltrace.start_span("")
    with pytest.raises(InvalidArgumentError, match="attributes must be a mapping"):
        evaltrace.start_span("x", attributes=[1, 2])  # type: ignore[arg-type]
    with evaltrace.start_span("x") as span:
        with pytest.raises(InvalidArgumentError, match="status must be one of"):
            span.set_status("MAYBE")
        with pytest.raises(InvalidArgumentError, match="tags must be a mapping"):
            evaltrace.update_current_trace(tags=["not", "a", "dict"])  # type: ignore[arg-type]


def test_update_current_trace_previews_and_client_request_id() -> None:
    @evaltrace.trace
    def handle(payload: dict) -> dict:
        evaltrace.update_current_trace(
            request_preview="short request",
            response_preview="short response",
            client_request_id="req-42",
            tags={"long": "v" * 2000, "number": 7},
        )
        return payload

    handle({"big": "x" * 5000})
    info = last_trace().info
    assert info.request_preview == "short request"
    assert info.response_preview == "short response"
    assert info.client_request_id == "req-42"
    assert info.tags["number"] == "7"
    assert len(info.tags["long"]) == 500 and info.tags["long"].endswith("...")


def test_update_current_trace_outside_a_trace_warns(caplog: pytest.LogCaptureFixture) -> None:
    evaltrace.update_current_trace(tags={"a": "b"})
    assert "outside of a trace" in caplog.text


def test_with_current_context_carries_the_trace_into_threads() -> None:
    @evaltrace.trace
    def work(i: int) -> int:
        return i * i

    @evaltrace.trace
    def fan_out() -> list:
        with ThreadPoolExecutor(max_workers=3) as pool:
            return list(pool.map(evaltrace.with_current_context(work), range(4)))

    assert fan_out() == [0, 1, 4, 9]
    trace = last_trace()
    root = trace.data._get_root_span()
    workers = trace.search_spans(name="work")
    assert root is not None and len(workers) == 4
    assert all(w.parent_id == root.span_id for w in workers)


def test_threads_without_the_helper_start_their_own_traces() -> None:
    @evaltrace.trace
    def work() -> str:
        return threading.current_thread().name

    @evaltrace.trace
    def parent() -> None:
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()

    parent()
    assert len(evaltrace.search_traces(return_type="list")) == 2


def test_own_provider_by_default_and_user_processors() -> None:
    exporter = InMemorySpanExporter()
    evaltrace.add_span_processor(SimpleSpanProcessor(exporter))

    @evaltrace.trace
    def traced() -> int:
        return 1

    traced()
    assert [s.name for s in exporter.get_finished_spans()] == ["traced"]
    assert otel_trace.get_tracer_provider() is not get_session().pipeline().provider


def test_span_of_another_tracer_is_linked_not_adopted() -> None:
    foreign = TracerProvider().get_tracer("other")

    @evaltrace.trace
    def ours() -> str:
        return "x"

    with foreign.start_as_current_span("incoming-request") as outer:
        ours()
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.parent_id is None
    assert trace.info.trace_id != f"tr-{outer.get_span_context().trace_id:032x}"


def test_global_provider_opt_in_adopts_other_instrumentation() -> None:
    evaltrace.configure(use_global_provider=True)
    provider = get_session().pipeline().provider
    assert otel_trace.get_tracer_provider() is provider
    library_tracer = otel_trace.get_tracer("some.library")

    @evaltrace.trace
    def app() -> str:
        with library_tracer.start_as_current_span("db.query") as span:
            span.set_attribute("db.system", "sqlite")
        return "ok"

    app()
    trace = last_trace()
    (query,) = trace.search_spans(name="db.query")
    root = trace.data._get_root_span()
    assert root is not None and query.parent_id == root.span_id
    assert query.attributes == {"db.system": "sqlite"}


def test_chat_previews_are_what_a_person_reads() -> None:
    """A chat call's request preview is its last user message and its response preview the
    answer (not the first 1,000 characters of the JSON, mostly the system prompt)."""

    @evaltrace.trace(span_type="CHAT_MODEL")
    def chat(messages: list, model: str) -> dict:
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Ja."}}]}

    chat(
        [
            {"role": "system", "content": "You are a helpful assistant. " * 60},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": [{"type": "text", "text": "Geht das?"}]},
        ],
        model="gpt-4o",
    )
    info = last_trace().info
    assert info.request_preview == "Geht das?"
    assert info.response_preview == "Ja."


@pytest.mark.parametrize("span_type", ["null", "123", "true", '["LLM"]'])
def test_a_span_type_that_reads_as_json_is_kept_as_written(span_type: str) -> None:
    @evaltrace.trace(span_type=span_type)
    def step() -> None:
        with evaltrace.start_span("inner", span_type=span_type):
            pass

    step()
    spans = last_trace().data.spans
    assert [span.span_type for span in spans] == [span_type, span_type]
