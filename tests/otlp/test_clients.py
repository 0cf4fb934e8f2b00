"""Real OTLP clients nobody here wrote, each from its own process: the OpenTelemetry Python
SDK's protobuf exporter, a Node.js service with the OpenTelemetry JS SDK (JSON), and
OpenInference's instrumentation of the real openai client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import evaltrace
from evaltrace.entities import TraceState
from tests.server.live import ROOT, child_env, last_line_of, running_server

pytestmark = pytest.mark.parametrize(
    "otlp_store", ["sqlite", "postgresql"], indirect=True, scope="module"
)


def run_client(args: list[str], tmp_path: Path, **env: str) -> str:
    return last_line_of(args, tmp_path / "client-spool", **env)


def stored(uri: str, trace_id_hex: str) -> evaltrace.Trace:
    evaltrace.set_tracking_uri(uri)
    return evaltrace.get_trace("tr-" + trace_id_hex)


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_the_python_sdk_exporter(
    otlp_server: str, otlp_store: str, tmp_path: Path, compression: str
) -> None:
    trace_id = run_client(
        [sys.executable, "-m", "tests.otlp.python_client", f"{otlp_server}/v1/traces", compression],
        tmp_path,
    )
    trace = stored(otlp_store, trace_id)
    spans = {span.name: span for span in trace.data.spans}
    root = spans["answer"]
    assert root.parent_id is None
    assert {spans[n].parent_id for n in ("search orders", "chat gpt-4o-mini", "notify")} == {
        root.span_id
    }
    assert spans["search orders"].span_type == "RETRIEVER"
    assert spans["search orders"].events[0].attributes == {"key": "order-7"}
    chat = spans["chat gpt-4o-mini"]
    assert chat.span_type == "CHAT_MODEL" and chat.attributes["evaltrace.translator"] == "gen_ai/1"
    assert chat.inputs["messages"] == [{"role": "user", "content": "Where is my order?"}]
    assert chat.outputs["choices"][0]["message"]["content"] == "It ships tomorrow."
    assert spans["notify"].status.description == "smtp down"
    assert trace.info.state is TraceState.OK  # the root succeeded
    assert trace.info.token_usage == {"input_tokens": 120, "output_tokens": 30, "total_tokens": 150}
    assert trace.info.cost_usd == pytest.approx((120 * 0.15 + 30 * 0.60) / 1e6)
    assert trace.info.request_preview == '{"question": "Where is my order?"}'
    assert trace.info.trace_metadata["service.name"] == "python-svc"
    assert evaltrace.get_experiment_by_name("py-svc").experiment_id == trace.info.experiment_id


def test_a_token_server_takes_the_exporters_bearer_header(otlp_store: str, tmp_path: Path) -> None:
    with running_server(
        otlp_store, tmp_path / "spool", EVALTRACE_SERVER_TOKEN="otlp-s3cret"
    ) as base:
        refused = subprocess.run(
            [sys.executable, "-m", "tests.otlp.python_client", f"{base}/v1/traces", "none"],
            env=child_env(tmp_path / "spool-a"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert "code: 401" in refused.stderr  # the exporter logs the refusal
        with pytest.raises(evaltrace.TraceNotFoundError):
            stored(otlp_store, refused.stdout.strip())
        trace_id = run_client(
            [sys.executable, "-m", "tests.otlp.python_client", f"{base}/v1/traces", "none"],
            tmp_path,
            OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer otlp-s3cret",
        )
    assert stored(otlp_store, trace_id).info.trace_metadata["service.name"] == "python-svc"


NODE_CLIENT = ROOT / "tests" / "otlp" / "node"


@pytest.fixture(scope="session")
def node_service() -> Path:
    """tests/otlp/node with its npm packages (installed from package-lock.json if missing)."""
    if not (NODE_CLIENT / "node_modules" / "@opentelemetry" / "sdk-trace-node").is_dir():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=NODE_CLIENT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
    return NODE_CLIENT / "service.mjs"


def test_a_nodejs_service_with_the_opentelemetry_js_sdk(
    otlp_server: str, otlp_store: str, tmp_path: Path, node_service: Path
) -> None:
    trace_id = run_client(["node", str(node_service), f"{otlp_server}/v1/traces"], tmp_path)
    trace = stored(otlp_store, trace_id)
    spans = {span.name: span for span in trace.data.spans}
    assert set(spans) == {"GET /orders/:id", "db.query", "openai.chat"}
    root = spans["GET /orders/:id"]
    assert root.parent_id is None and root.span_type == "CHAIN"
    assert spans["db.query"].parent_id == root.span_id == spans["openai.chat"].parent_id
    assert root.inputs == {"order_id": "o-42"} and root.outputs == {"answer": "It ships tomorrow."}
    chat = spans["openai.chat"]
    assert chat.span_type == "CHAT_MODEL"
    assert chat.attributes["evaltrace.translator"] == "openllmetry/1"
    assert chat.inputs == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Where is order o-42?"}],
    }
    assert chat.outputs["choices"][0]["message"]["content"] == "It ships tomorrow."
    assert spans["db.query"].attributes["db.statement"].startswith("SELECT")
    assert trace.info.token_usage == {"input_tokens": 11, "output_tokens": 4, "total_tokens": 15}
    assert trace.info.trace_metadata["service.name"] == "node-orders"
    assert trace.info.state is TraceState.OK


def test_openinference_instrumenting_the_openai_client(
    otlp_server: str, otlp_store: str, tmp_path: Path
) -> None:
    """The chat call is a CHAT_MODEL span with the messages as inputs and the answer as
    outputs, its usage is the trace's, and merge_records makes a dataset record of it."""
    from evaltrace.datasets import create_dataset

    trace_id = run_client(
        [sys.executable, "-m", "tests.otlp.openinference_client", f"{otlp_server}/v1/traces"],
        tmp_path,
    )
    trace = stored(otlp_store, trace_id)
    (chat,) = trace.data.spans
    assert chat.span_type == "CHAT_MODEL"
    assert chat.attributes["evaltrace.translator"] == "openinference/1"
    assert chat.inputs["messages"][-1] == {"role": "user", "content": "Where is order 42?"}
    answer = chat.outputs["choices"][0]["message"]["content"]
    assert answer == "You said: Where is order 42?"
    assert trace.info.token_usage == {"input_tokens": 4, "output_tokens": 6, "total_tokens": 10}
    dataset = create_dataset(f"from-otlp-{otlp_store[:6]}")
    dataset.merge_records([trace])
    (record,) = dataset.records
    assert record.inputs["messages"][-1]["content"] == "Where is order 42?"
    assert record.source.source_data["trace_id"] == trace.info.trace_id
    assert "You said" in str(record.outputs)


def test_evaluation_result_events_become_feedback_once(
    otlp_server: str, otlp_store: str, tmp_path: Path
) -> None:
    """The GenAI conventions' ``gen_ai.evaluation.result`` events are judgments: each becomes
    Feedback on the span that carries it (score value, else label; explanation as rationale;
    an LLM judge unless the event says otherwise), stored once when the request comes twice.
    The events stay on their spans as sent."""
    trace_id = run_client(
        [sys.executable, "-m", "tests.otlp.evaluation_client", f"{otlp_server}/v1/traces"],
        tmp_path,
    )
    trace = stored(otlp_store, trace_id)
    spans = {span.name: span for span in trace.data.spans}
    feedback = {a.name: a for a in trace.info.assessments}
    assert set(feedback) == {"relevance", "tone"}  # the nameless event judged nothing
    relevance = feedback["relevance"]
    assert (relevance.value, relevance.rationale) == (0.8, "answers the question asked")
    assert relevance.span_id == spans["chat gpt-4o-mini"].span_id
    assert relevance.source.source_type.value == "LLM_JUDGE"
    assert relevance.metadata == {"label": "relevant", "gen_ai.response.id": "chatcmpl-1"}
    tone = feedback["tone"]
    assert (tone.value, tone.span_id) == ("polite", spans["invoke_agent support"].span_id)
    assert (tone.source.source_type.value, tone.source.source_id) == ("CODE", "tone-rules")
    assert [e.name for e in spans["chat gpt-4o-mini"].events] == ["gen_ai.evaluation.result"]
    found = evaltrace.search_traces(
        experiment_ids=[trace.info.experiment_id],
        filter_string="feedback.relevance > 0.5",
        return_type="list",
    )
    assert [t.info.trace_id for t in found] == [trace.info.trace_id]
