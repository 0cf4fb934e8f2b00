"""evaltrace's own traces exported over OTLP, as stored: an app process traces into its store
and, through the OpenTelemetry SDK's exporter, into a second evaltrace server's store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import evaltrace
from tests.server.live import free_port, last_line_of, running_server


def run_app(args: list[str], tmp_path: Path, **env: str) -> str:
    """Run a traced app in its own process; the trace id it prints last."""
    return last_line_of([sys.executable, *args], tmp_path / "app-spool", **env)


@pytest.mark.parametrize(
    "variable", ["EVALTRACE_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
)
def test_traces_are_stored_and_exported_redacted_with_genai_attributes(
    tmp_path: Path, variable: str
) -> None:
    app_store = f"sqlite:///{tmp_path / 'app.db'}"
    receiver_store = f"sqlite:///{tmp_path / 'receiver.db'}"
    with running_server(receiver_store, tmp_path / "receiver-spool") as receiver:
        trace_id = run_app(
            ["-m", "tests.otlp.exporting_app"],
            tmp_path,
            EVALTRACE_TRACKING_URI=app_store,
            **{variable: f"{receiver}/v1/traces"},
        )
    evaltrace.set_tracking_uri(app_store)
    here = evaltrace.get_trace(trace_id)
    evaltrace.set_tracking_uri(receiver_store)
    there = evaltrace.get_trace(trace_id)
    mine = {s.name: s for s in here.data.spans}
    theirs = {s.name: s for s in there.data.spans}
    assert set(theirs) == set(mine) == {"answer", "lookup", "chat"}
    for name, span in mine.items():  # the same tree, types, payloads and statuses
        assert theirs[name].parent_id == span.parent_id
        assert theirs[name].span_type == span.span_type
        assert theirs[name].inputs == span.inputs and theirs[name].outputs == span.outputs
    assert mine["lookup"].inputs["api_key"] == "[REDACTED]"  # as stored, so as sent
    chat = theirs["chat"].attributes
    assert chat["gen_ai.operation.name"] == "chat"
    assert chat["gen_ai.request.model"] == "gpt-4o-mini"
    assert (
        '"parts": [{"type": "text", "content": "Where is o-7?"}]' in chat["gen_ai.input.messages"]
    )
    assert '"finish_reason": "stop"' in chat["gen_ai.output.messages"]
    assert theirs["lookup"].attributes["gen_ai.tool.call.arguments"].count("[REDACTED]") == 1
    assert "sk-proj" not in str(there)
    assert (
        there.info.token_usage
        == here.info.token_usage
        == {
            "input_tokens": 9,
            "output_tokens": 2,
            "total_tokens": 11,
        }
    )
    assert there.info.request_preview == here.info.request_preview
    # Our Feedback went out as a gen_ai.evaluation.result event and came back as Feedback.
    (sent,) = here.info.assessments
    (received,) = there.info.assessments
    assert (received.name, received.value, received.rationale) == (
        sent.name,
        True,
        "cites the order",
    )
    assert received.span_id == theirs["answer"].span_id  # it judged the whole trace: the root
    assert received.source.source_type is sent.source.source_type


def test_an_unreachable_collector_costs_the_store_nothing(tmp_path: Path) -> None:
    """Nothing listens at the endpoint: the app runs, its trace is stored, the exporter's
    failure is only logged."""
    app_store = f"sqlite:///{tmp_path / 'app.db'}"
    trace_id = run_app(
        ["-c", DOWN_APP],
        tmp_path,
        EVALTRACE_TRACKING_URI=app_store,
        EVALTRACE_OTLP_ENDPOINT=f"http://127.0.0.1:{free_port()}/v1/traces",
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
    )
    evaltrace.set_tracking_uri(app_store)
    assert evaltrace.get_trace(trace_id).data.spans[0].name == "answer"


DOWN_APP = """
import evaltrace

@evaltrace.trace
def answer(question):
    return "Shipped."

assert answer("q") == "Shipped."
print(evaltrace.get_last_active_trace_id())
"""
