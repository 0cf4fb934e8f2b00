"""OpenAI autolog with the real openai client over HTTP, against evaltrace.testing.OpenAIServer."""

from __future__ import annotations

import asyncio
import gc
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai import _base_client
from pydantic import BaseModel

import evaltrace
import evaltrace.openai
from evaltrace import SpanStatusCode, TraceState
from evaltrace.testing import OpenAIServer, ScriptedReply

API_KEY = "sk-test-SECRET-never-stored"
MESSAGES = [{"role": "user", "content": "What is the refund policy?"}]


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAIServer]:
    with OpenAIServer() as running:
        yield running


@pytest.fixture(autouse=True)
def autolog() -> Iterator[None]:
    evaltrace.openai.autolog()
    yield
    evaltrace.openai.autolog(disable=True)


@pytest.fixture
def client(server: OpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as opened:
        yield opened


def async_client(server: OpenAIServer) -> openai.AsyncOpenAI:
    """A new client per event loop (asyncio.run): its connections belong to one loop."""
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)


def last_spans() -> list[evaltrace.Span]:
    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    assert API_KEY not in trace.to_json() and "SECRET" not in trace.to_json()
    return list(trace.data.spans)


def only_span() -> evaltrace.Span:
    (span,) = last_spans()
    return span


def test_chat_completion_span(client: openai.OpenAI, server: OpenAIServer) -> None:
    response = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.3
    )
    span = only_span()
    assert (span.name, span.span_type) == ("openai.chat.completions", "CHAT_MODEL")
    assert span.inputs == {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.3}
    assert span.outputs["choices"][0]["message"]["content"] == response.choices[0].message.content
    attributes = span.attributes
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.request.temperature"] == 0.3
    assert attributes["gen_ai.usage.input_tokens"] == response.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == response.usage.completion_tokens
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["evaltrace.openai.base_url"].startswith(server.base_url)
    expected_cost = (
        response.usage.prompt_tokens * 0.15 + response.usage.completion_tokens * 0.60
    ) / 1e6
    assert attributes["evaltrace.cost_usd"] == pytest.approx(expected_cost)
    assert span.status.status_code is SpanStatusCode.OK


def test_tool_calls_and_tool_definitions(client: openai.OpenAI, server: OpenAIServer) -> None:
    tools = [
        {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    ]
    server.script(
        ScriptedReply(tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}])
    )
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES, tools=tools)
    attributes = only_span().attributes
    assert attributes["gen_ai.tool.definitions"] == tools
    (call,) = attributes["gen_ai.response.tool_calls"]
    assert call["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert attributes["gen_ai.response.finish_reasons"] == ["tool_calls"]


@pytest.mark.parametrize("include_usage", [False, True])
def test_streamed_chat_is_rebuilt_as_one_response(
    client: openai.OpenAI, server: OpenAIServer, include_usage: bool
) -> None:
    server.script(ScriptedReply(text="Full refunds within 30 days."))
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True, **extra)
    assert stream.response.status_code == 200  # the proxy keeps the Stream's attributes
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Full refunds within 30 days."
    span = only_span()
    message = span.outputs["choices"][0]
    assert message["message"] == {"role": "assistant", "content": text}
    assert message["finish_reason"] == "stop"
    assert ("usage" in span.outputs) is include_usage
    assert ("gen_ai.usage.input_tokens" in span.attributes) is include_usage
    # Without usage the cost is unknown (it was 0.0): none on the span, None on the trace.
    assert ("evaltrace.cost_usd" in span.attributes) is include_usage
    trace = evaltrace.get_trace(span.trace_id)
    assert (trace.info.cost_usd is None) is not include_usage
    assert span.attributes["evaltrace.time_to_first_token_ns"] > 0
    # The first token's time, then every chunk as the reference records it (its JSON).
    names = [e.name for e in span.events]
    assert names[0] == "first_token"
    assert names[1:] == [f"mlflow.chunk.item.{i}" for i in range(len(names) - 1)]
    first_chunk = json.loads(span.events[1].attributes["mlflow.chunk.value"])
    assert first_chunk["object"] == "chat.completion.chunk"
    assert span.attributes["model"] == "gpt-4o"  # the request's parameters, by their names
    assert "evaltrace.stream.incomplete" not in span.attributes


def test_streamed_content_parts_reach_the_app_and_the_span(
    client: openai.OpenAI, server: OpenAIServer
) -> None:
    """Deltas whose content is a list of parts: the app gets every chunk (a TypeError escaped
    into ``list(stream)`` before), the span's outputs join the text parts."""
    server.script(ScriptedReply(text="Full refunds within 30 days.", content_parts=True))
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    parts = [
        part for chunk in chunks if chunk.choices for part in chunk.choices[0].delta.content or []
    ]
    assert "".join(part["text"] for part in parts) == "Full refunds within 30 days."
    message = only_span().outputs["choices"][0]["message"]
    assert message["content"] == [{"type": "text", "text": "Full refunds within 30 days."}]


def test_streamed_tool_calls_are_reassembled(client: openai.OpenAI, server: OpenAIServer) -> None:
    server.script(ScriptedReply(tool_calls=[{"name": "lookup", "arguments": {"order": 42}}]))
    list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    (call,) = only_span().outputs["choices"][0]["message"]["tool_calls"]
    assert call["id"] == "call_0"
    assert call["function"] == {"name": "lookup", "arguments": '{"order": 42}'}


def test_stream_closed_early_ends_span_once(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    next(iter(stream))
    stream.close()
    stream.close()
    span = only_span()
    assert span.attributes["evaltrace.stream.incomplete"] == "closed before the end"
    assert span.status.status_code is SpanStatusCode.OK


def test_stream_as_context_manager(client: openai.OpenAI) -> None:
    with client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as stream:
        first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    assert only_span().attributes["evaltrace.stream.incomplete"] == "closed before the end"


def test_stream_garbage_collected_half_read(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    span = only_span()
    assert span.attributes["evaltrace.stream.incomplete"] == "garbage-collected before the end"


def test_stream_helper_get_final_completion(client: openai.OpenAI) -> None:
    with client.chat.completions.stream(model="gpt-4o", messages=MESSAGES) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    span = only_span()
    assert span.outputs["choices"][0]["message"]["content"] == final.choices[0].message.content


def test_structured_output_parse(client: openai.OpenAI, server: OpenAIServer) -> None:
    class Answer(BaseModel):
        policy: str

    server.script(ScriptedReply(text='{"policy": "30 days"}'))
    parsed = client.chat.completions.parse(
        model="gpt-4o", messages=MESSAGES, response_format=Answer
    )
    assert parsed.choices[0].message.parsed == Answer(policy="30 days")
    span = only_span()
    assert span.inputs["response_format"]["type"] == "json_schema"
    assert span.outputs["choices"][0]["message"]["content"] == '{"policy": "30 days"}'


def test_responses_plain_and_streamed(client: openai.OpenAI, server: OpenAIServer) -> None:
    response = client.responses.create(model="gpt-4o", input="hello there")
    span = only_span()
    assert (span.name, span.span_type) == ("openai.responses", "CHAT_MODEL")
    assert span.outputs["output"][0]["content"][0]["text"] == response.output_text
    assert span.attributes["gen_ai.usage.total_tokens"] == response.usage.total_tokens

    events = list(client.responses.create(model="gpt-4o", input="hello there", stream=True))
    assert events[-1].type == "response.completed"
    span = only_span()
    assert span.outputs["output"][0]["content"][0]["text"] == "You said: hello there"
    assert span.attributes["gen_ai.usage.output_tokens"] == events[-1].response.usage.output_tokens


def test_responses_stream_helper_sees_openais_event_sequence(client: openai.OpenAI) -> None:
    """The SDK's ``responses.stream()`` accumulates the response from the item and part events
    (it fails on a stream of deltas alone): the server sends them all, autolog records it."""
    with client.responses.stream(model="gpt-4o", input="stream me") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert final.output_text == "You said: stream me"
    span = only_span()
    assert span.outputs["output"][0]["content"][0]["text"] == "You said: stream me"
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens


def test_azure_openai_client_is_traced(server: OpenAIServer) -> None:
    with openai.AzureOpenAI(
        azure_endpoint=server.root_url, api_key=API_KEY, api_version="2024-06-01", max_retries=0
    ) as azure:
        reply = azure.chat.completions.create(model="my-gpt4o-deployment", messages=MESSAGES)
    assert reply.model == "my-gpt4o-deployment"
    path = server.requests[-1]["path"]
    assert path.startswith("/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=")
    span = only_span()
    assert span.span_type == "CHAT_MODEL"
    assert span.attributes["gen_ai.request.model"] == "my-gpt4o-deployment"
    assert span.outputs["choices"][0]["message"]["content"] == reply.choices[0].message.content


def test_completions_embeddings_and_other_endpoints(
    client: openai.OpenAI, server: OpenAIServer
) -> None:
    client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi")
    span = only_span()
    assert (span.name, span.span_type) == ("openai.completions", "LLM")
    assert span.outputs["choices"][0]["text"] == "You said: Say hi"

    embedded = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    span = only_span()
    assert (span.name, span.span_type) == ("openai.embeddings", "EMBEDDING")
    assert len(span.outputs["data"]) == len(embedded.data) == 2

    server.script(404)
    with pytest.raises(openai.NotFoundError):
        client.models.list()
    span = only_span()
    assert span.name == "openai GET /models" and span.status.status_code is SpanStatusCode.ERROR


@pytest.mark.parametrize("status", [429, 500])
def test_api_errors_mark_span_and_reach_caller_unchanged(
    client: openai.OpenAI, server: OpenAIServer, status: int
) -> None:
    server.script(status)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert caught.value.status_code == status
    span = only_span()
    assert span.status.status_code is SpanStatusCode.ERROR
    assert span.events[0].attributes["exception.type"].endswith(type(caught.value).__name__)


def test_connection_error(server: OpenAIServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=API_KEY, max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        closed.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert only_span().status.status_code is SpanStatusCode.ERROR


def test_raw_and_streaming_response_wrappers(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES)
    assert raw.headers["x-request-id"] == "req_test"
    completion = raw.parse()
    assert (
        only_span().outputs["choices"][0]["message"]["content"]
        == completion.choices[0].message.content
    )

    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=MESSAGES
    ) as response:
        assert response.parse().choices[0].message.content.startswith("You said")
    span = only_span()
    assert span.name == "openai.chat.completions" and span.status.status_code is SpanStatusCode.OK


def test_nesting_inside_trace_and_token_usage_in_trace_info(client: openai.OpenAI) -> None:
    @evaltrace.trace
    def bot(question: str) -> str:
        first = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        second = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        return f"{first.choices[0].message.content} / {second.choices[0].message.content}"

    bot("q")
    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    root = trace.data._get_root_span()
    calls = trace.search_spans(span_type="CHAT_MODEL")
    assert root is not None and len(calls) == 2
    assert all(call.parent_id == root.span_id for call in calls)
    total = sum(call.attributes["gen_ai.usage.total_tokens"] for call in calls)
    assert trace.info.token_usage == {
        "input_tokens": sum(c.attributes["gen_ai.usage.input_tokens"] for c in calls),
        "output_tokens": sum(c.attributes["gen_ai.usage.output_tokens"] for c in calls),
        "total_tokens": total,
    }
    assert trace.info.cost_usd == pytest.approx(
        sum(c.attributes["evaltrace.cost_usd"] for c in calls)
    )
    found = evaltrace.search_traces(
        filter_string=f"attributes.total_tokens = {total}", return_type="list"
    )
    assert [t.info.trace_id for t in found] == [trace.info.trace_id]


def test_custom_model_price(client: openai.OpenAI) -> None:
    evaltrace.openai.set_model_price("house-model", input_per_million=1.0, output_per_million=2.0)
    response = client.chat.completions.create(model="house-model-2025-01-01", messages=MESSAGES)
    expected = (response.usage.prompt_tokens * 1.0 + response.usage.completion_tokens * 2.0) / 1e6
    assert only_span().attributes["evaltrace.cost_usd"] == pytest.approx(expected)
    with pytest.raises(evaltrace.exceptions.InvalidArgumentError):
        evaltrace.openai.set_model_price("x", input_per_million=-1, output_per_million=0)


@pytest.mark.parametrize("stream", [False, True])
def test_async_client(server: OpenAIServer, stream: bool) -> None:
    async def call() -> str:
        async with async_client(server) as client:
            if not stream:
                response = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                return response.choices[0].message.content or ""
            chunks = await client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True
            )
            return "".join([c.choices[0].delta.content or "" async for c in chunks if c.choices])

    text = asyncio.run(call())
    span = only_span()
    assert span.outputs["choices"][0]["message"]["content"] == text
    server.script(500)
    with pytest.raises(openai.InternalServerError):
        asyncio.run(call())
    assert only_span().status.status_code is SpanStatusCode.ERROR


def test_async_stream_closed_early(server: OpenAIServer) -> None:
    async def call() -> None:
        async with async_client(server) as client:
            stream = await client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True
            )
            await stream.__anext__()
            await stream.close()

    asyncio.run(call())
    assert only_span().attributes["evaltrace.stream.incomplete"] == "closed before the end"


def test_autolog_twice_patches_once_and_disable_restores(client: openai.OpenAI) -> None:
    evaltrace.openai.autolog()
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(last_spans()) == 1
    evaltrace.openai.autolog(disable=True)
    assert not hasattr(_base_client.SyncAPIClient.__dict__["request"], "__wrapped__")
    assert not hasattr(_base_client.AsyncAPIClient.__dict__["request"], "__wrapped__")
    before = evaltrace.get_last_active_trace_id()
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert evaltrace.get_last_active_trace_id() == before
    evaltrace.openai.autolog()
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert evaltrace.get_last_active_trace_id() != before


def test_app_failure_inside_traced_function_keeps_trace(client: openai.OpenAI) -> None:
    @evaltrace.trace
    def bot() -> None:
        client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        raise RuntimeError("after the call")

    with pytest.raises(RuntimeError):
        bot()
    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    assert trace.info.state is TraceState.ERROR and len(trace.data.spans) == 2


def test_autolog_without_openai_says_how_to_install() -> None:
    code = (
        "import sys; sys.modules['openai'] = None\n"
        "import evaltrace.openai\n"
        "try:\n"
        "    evaltrace.openai.autolog()\n"
        "except ImportError as e:\n"
        "    assert type(e).__name__ == 'MissingDependencyError', type(e)\n"
        "    print(e)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "pip install 'evaltrace[openai]'" in result.stdout


def test_a_credential_in_the_prompt_and_echoed_in_the_response_is_redacted(
    client: openai.OpenAI,
) -> None:
    leaked = "AKIAZZZZYYYYXXXXWWWW"
    messages = [{"role": "user", "content": f"is {leaked} my key?"}]
    response = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert leaked in (response.choices[0].message.content or "")  # the app still sees it
    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    assert leaked not in trace.to_json() and leaked not in str(trace.info.to_dict())
    (span,) = trace.data.spans
    assert span.inputs["messages"][0]["content"] == "is [REDACTED] my key?"
    assert "[REDACTED]" in span.outputs["choices"][0]["message"]["content"]
    assert span.attributes["gen_ai.usage.total_tokens"] == response.usage.total_tokens


def test_a_processor_of_the_users_sees_everything_the_store_sees(
    client: openai.OpenAI, server: OpenAIServer
) -> None:
    """The OTel span is the whole record: an OTLP exporter added with add_span_processor gets
    every gen_ai attribute (native values, not JSON text) and the inputs and outputs."""
    import json

    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    evaltrace.add_span_processor(SimpleSpanProcessor(exporter))
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.3)
    stored = only_span()
    (seen,) = exporter.get_finished_spans()
    attributes = dict(seen.attributes or {})
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"  # not '"gpt-4o-mini"'
    assert attributes["gen_ai.usage.total_tokens"] == stored.attributes["gen_ai.usage.total_tokens"]
    assert json.loads(attributes["evaltrace.span.outputs"]) == stored.outputs
    assert json.loads(attributes["evaltrace.span.inputs"]) == stored.inputs
    json_keys = set(attributes.pop("evaltrace.span.json_keys", ()))
    for key in ("evaltrace.span.type", "evaltrace.span.inputs", "evaltrace.span.outputs"):
        attributes.pop(key)
    decoded = {k: json.loads(v) if k in json_keys else v for k, v in attributes.items()}
    assert decoded == stored.attributes


def test_the_call_span_ends_when_the_call_returns_and_its_trace_waits_for_it(
    client: openai.OpenAI,
) -> None:
    """The span's last attributes are made on the writer's thread, but its end time is the
    caller's, and the trace is complete when it is stored."""

    @evaltrace.trace
    def handle() -> str:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        return str(reply.choices[0].message.content)

    handle()
    root, call = last_spans()
    assert (root.name, call.name) == ("handle", "openai.chat.completions")
    assert call.parent_id == root.span_id
    assert call.end_time_ns is not None and root.end_time_ns is not None
    assert root.start_time_ns <= call.start_time_ns <= call.end_time_ns <= root.end_time_ns
    assert call.attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert call.status.status_code is SpanStatusCode.OK


def test_parallel_calls_in_one_trace_are_all_in_it(client: openai.OpenAI) -> None:
    """Deferred ends of calls made on several threads: every trace is handed over once, whole
    (the threads and the writer agree on who ends last)."""
    from concurrent.futures import ThreadPoolExecutor

    def ask(i: int) -> str:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        return str(reply.id)

    @evaltrace.trace
    def fan_out() -> list[str]:
        with ThreadPoolExecutor(4) as pool:
            return list(pool.map(evaltrace.with_current_context(ask), range(6)))

    trace_ids = []
    for _ in range(15):
        fan_out()
        trace_ids.append(evaltrace.get_last_active_trace_id())
    for trace_id in trace_ids:
        spans = evaltrace.get_trace(trace_id).data.spans
        assert [s.name for s in spans].count("openai.chat.completions") == 6
    assert len(evaltrace.search_traces(return_type="list")) == 15


def test_a_subclass_overriding_request_makes_one_span(server: OpenAIServer) -> None:
    """autolog patches every class that defines ``request``, so an override calling
    ``super().request`` runs inside two patched methods: still one span per call."""

    class Audited(openai.OpenAI):
        calls = 0

        def request(self, *args: Any, **kwargs: Any) -> Any:
            Audited.calls += 1
            return super().request(*args, **kwargs)

    evaltrace.openai.autolog(disable=True)
    evaltrace.openai.autolog()  # finds Audited.request too
    try:
        with Audited(base_url=server.base_url, api_key=API_KEY, max_retries=0) as audited:
            audited.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        assert Audited.calls == 1
        assert only_span().span_type == "CHAT_MODEL"
    finally:
        evaltrace.openai.autolog(disable=True)
        evaltrace.openai.autolog()


def test_autolog_traces_after_another_instrumentation_was_removed(
    client: openai.OpenAI,
) -> None:
    """OpenInference's uninstrument leaves a copy of the original ``request`` on
    ``openai.OpenAI``, which hid autolog's patch of the base class: nothing was traced."""
    from openinference.instrumentation.openai import OpenAIInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    evaltrace.openai.autolog(disable=True)
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    instrumentor.uninstrument()
    assert "request" in openai.OpenAI.__dict__  # the copy it leaves behind

    evaltrace.openai.autolog()
    before = evaltrace.get_last_active_trace_id()
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert evaltrace.get_last_active_trace_id() != before
    assert only_span().span_type == "CHAT_MODEL"

    # Both on at once: each records the call.
    evaltrace.openai.autolog(disable=True)
    instrumentor.instrument(tracer_provider=provider)
    theirs = openai.OpenAI.__dict__["request"]
    evaltrace.openai.autolog()
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert only_span().span_type == "CHAT_MODEL"
    assert [span.name for span in exported.get_finished_spans()] == ["ChatCompletion"]
    # Disabling autolog leaves the other instrumentation exactly as it was.
    evaltrace.openai.autolog(disable=True)
    assert openai.OpenAI.__dict__["request"] is theirs
    instrumentor.uninstrument()
    provider.shutdown()
