"""Each convention's translator on the attributes its instrumentations write, through the
same conversion the endpoint runs (decoded OTLP messages to stored spans)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from evaltrace.entities import Span
from evaltrace.otlp import translators
from evaltrace.otlp.convert import convert_request
from tests.otlp.requests import attributes, new_trace_id, request, span


def named_experiment(hint: str | None) -> str:
    """The experiment a resource names, as its id (the default one: "0")."""
    return "0" if hint is None else f"id of {hint}"


def converted(*spans: OtlpSpan, **resource: Any) -> list[Span]:
    result = convert_request(request(*spans, resource=resource or None), named_experiment)
    wanted = named_experiment(resource.get("evaltrace.experiment"))
    return [
        s for part in result.parts if part.info.experiment_id == wanted for s in part.data.spans
    ]


def one(**attrs: Any) -> Span:
    (only,) = converted(span(new_trace_id(), os.urandom(8), "s", **attrs))
    return only


def test_openinference_chat_with_tool_calls_and_no_raw_body() -> None:
    mapped = one(
        **{
            "openinference.span.kind": "LLM",
            "llm.model_name": "gpt-4o",
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": "weather in Oslo?",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "weather",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
            "llm.token_count.prompt": 12,
            "llm.token_count.completion": 5,
            "session.id": "conv-9",
        }
    )
    assert mapped.span_type == "CHAT_MODEL"
    assert mapped.inputs == {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "weather in Oslo?"}],
    }
    (choice,) = mapped.outputs["choices"]
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "weather", "arguments": "{}"}
    assert mapped.attributes["gen_ai.usage.total_tokens"] == 17
    assert mapped.attributes["session.id"] == "conv-9"  # an identifier, not a secret


def test_conversation_and_user_ids_become_the_traces_session_and_user() -> None:
    trace_id = new_trace_id()
    result = convert_request(
        request(
            span(trace_id, os.urandom(8), "turn", **{"session.id": "conv-9", "user.id": "ana"}),
        ),
        named_experiment,
    )
    (part,) = result.parts
    assert part.info.trace_metadata["mlflow.trace.session"] == "conv-9"
    assert part.info.trace_metadata["mlflow.trace.user"] == "ana"


def test_conversation_and_user_ids_of_the_resource_count_too() -> None:
    """Sent as resource attributes they were kept as metadata under their own names only."""
    trace_id, other = new_trace_id(), new_trace_id()
    resource = {"service.name": "chat", "gen_ai.conversation.id": "conv-3", "user.id": "bo"}
    result = convert_request(
        request(
            span(trace_id, os.urandom(8), "turn"),
            span(other, os.urandom(8), "turn", **{"user.id": "span-user"}),
            resource=resource,
        ),
        named_experiment,
    )
    metadata = {part.info.trace_id: part.info.trace_metadata for part in result.parts}
    first, second = metadata["tr-" + trace_id.hex()], metadata["tr-" + other.hex()]
    assert first["mlflow.trace.session"] == "conv-3" and first["mlflow.trace.user"] == "bo"
    assert second["mlflow.trace.user"] == "span-user"  # the span's own wins
    assert second["mlflow.trace.session"] == "conv-3"


def test_openinference_kinds_and_payloads() -> None:
    retriever = one(
        **{
            "openinference.span.kind": "RETRIEVER",
            "input.value": "refund policy",
            "output.value": '["doc 1"]',
        }
    )
    assert retriever.span_type == "RETRIEVER"
    assert retriever.inputs == "refund policy" and retriever.outputs == ["doc 1"]


def test_genai_conventions_with_parts_and_system_instructions() -> None:
    mapped = one(
        **{
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude",
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]
            ),
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [
                            {"type": "tool_call", "id": "t1", "name": "f", "arguments": {"x": 1}}
                        ],
                        "finish_reason": "tool_call",
                    }
                ]
            ),
        }
    )
    assert mapped.inputs["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    (choice,) = mapped.outputs["choices"]
    assert choice["finish_reason"] == "tool_call"
    assert choice["message"]["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"x": 1}'}


def test_genai_tool_and_agent_spans() -> None:
    tool = one(
        **{
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.call.arguments": '{"city": "Oslo"}',
            "gen_ai.tool.call.result": '{"temp": 3}',
        }
    )
    assert (
        tool.span_type == "TOOL" and tool.inputs == {"city": "Oslo"} and tool.outputs == {"temp": 3}
    )
    assert one(**{"gen_ai.operation.name": "invoke_agent"}).span_type == "AGENT"
    assert one(**{"gen_ai.operation.name": "embeddings"}).span_type == "EMBEDDING"


def test_genai_message_events_of_the_earlier_conventions() -> None:
    trace_id = new_trace_id()
    message = span(
        trace_id, os.urandom(8), "chat", **{"gen_ai.system": "openai", "gen_ai.request.model": "m"}
    )
    for name, attrs in (
        ("gen_ai.system.message", {"content": "Be brief."}),
        ("gen_ai.user.message", {"content": "hi"}),
        (
            "gen_ai.choice",
            {
                "index": 0,
                "finish_reason": "stop",
                "message": '{"role": "assistant", "content": "hello"}',
            },
        ),
    ):
        event = message.events.add(name=name, time_unix_nano=message.start_time_unix_nano)
        event.attributes.extend(attributes(attrs))
    (mapped,) = converted(message)
    assert [m["role"] for m in mapped.inputs["messages"]] == ["system", "user"]
    assert mapped.outputs["choices"][0] == {
        "index": 0,
        "message": {"role": "assistant", "content": "hello"},
        "finish_reason": "stop",
    }
    assert [e.name for e in mapped.events][-1] == "gen_ai.choice"  # raw events kept


def test_mlflow_span_attributes() -> None:
    mapped = one(
        **{
            "mlflow.spanType": '"RETRIEVER"',
            "mlflow.spanInputs": '{"query": "q"}',
            "mlflow.spanOutputs": '[{"page_content": "p"}]',
            "mlflow.chat.tokenUsage": '{"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}',
        }
    )
    assert mapped.span_type == "RETRIEVER" and mapped.inputs == {"query": "q"}
    assert mapped.attributes["evaltrace.translator"] == "mlflow/1"
    assert mapped.attributes["gen_ai.usage.total_tokens"] == 4


def test_a_span_no_convention_describes_keeps_its_attributes_and_is_unknown() -> None:
    mapped = one(**{"http.route": "/orders", "db.rows": 3})
    assert mapped.span_type == "UNKNOWN" and mapped.inputs is None
    assert (
        mapped.attributes["http.route"] == "/orders"
        and "evaltrace.translator" not in mapped.attributes
    )


def test_a_failing_translator_keeps_the_span_unmapped(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(attrs: Any, events: Any) -> Any:
        raise KeyError("llm.model_name")

    monkeypatch.setattr(translators, "_TRANSLATORS", (("broken/1", lambda attrs: True, broken),))
    mapped = one(**{"openinference.span.kind": "LLM"})
    assert mapped.span_type == "UNKNOWN"
    assert mapped.attributes["evaltrace.translator.error"] == "KeyError: 'llm.model_name'"
    assert mapped.attributes["openinference.span.kind"] == "LLM"


def test_secrets_in_foreign_attributes_are_redacted() -> None:
    mapped = one(
        **{
            "openinference.span.kind": "CHAIN",
            "input.value": '{"question": "hi", "api_key": "sk-live-0123456789abcdefghij"}',
            "http.request.header.authorization": "Bearer abcdefghijklmnop",
        }
    )
    assert mapped.inputs == {"question": "hi", "api_key": "[REDACTED]"}
    assert mapped.attributes["http.request.header.authorization"] == "[REDACTED]"
    assert "sk-live" not in json.dumps(mapped.attributes)
