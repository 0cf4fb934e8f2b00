"""evaltrace's own traces out over OTLP, as they were stored (redacted), through the
OpenTelemetry SDK's OTLP/HTTP exporter (``pip install 'evaltrace[otlp]'``).

On when ``configure(otlp_endpoint=...)`` / ``EVALTRACE_OTLP_ENDPOINT`` or the standard
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set; ``OTEL_EXPORTER_OTLP_HEADERS`` (or
``..._TRACES_HEADERS``) gives the headers, read by the SDK's exporter. A trace is forwarded
after it was written to the store (a trace replayed from the spool is forwarded when the replay
writes it, not twice), through the SDK's BatchSpanProcessor: its own thread and queue, so a
slow or unreachable collector never holds up the store writer.

Inputs and outputs go under the conventions receiving backends read: ``gen_ai.input.messages``
/ ``gen_ai.output.messages`` (OpenTelemetry GenAI, parts format) for chat spans,
``gen_ai.tool.call.arguments`` / ``.result`` for tools, ``input.value`` / ``output.value``
(OpenInference, read by most GenAI backends) for every span; the span type as
``gen_ai.operation.name`` where the conventions have one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from evaltrace.entities import Feedback, Span, SpanStatusCode, SpanType, Trace
from evaltrace.entities.attribute_keys import SESSION_METADATA_KEY
from evaltrace.exceptions import MissingDependencyError
from evaltrace.otlp.evaluations import EVALUATION_EVENT
from evaltrace.tracer.convert import parse_trace_id

__all__ = ["OtlpForwarder", "otel_attributes"]

_OPERATIONS = {
    SpanType.CHAT_MODEL: "chat",
    SpanType.LLM: "text_completion",
    SpanType.EMBEDDING: "embeddings",
    SpanType.TOOL: "execute_tool",
    SpanType.AGENT: "invoke_agent",
}


class OtlpForwarder:
    """Hands stored traces to a BatchSpanProcessor exporting over OTLP/HTTP."""

    def __init__(self, endpoint: str | None, service_name: str = "evaltrace") -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as exc:
            raise MissingDependencyError(
                "exporting over OTLP needs the OTLP exporter: pip install 'evaltrace[otlp]'"
            ) from exc
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        from evaltrace._version import __version__

        self._processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))
        self._resource = Resource.create({"service.name": service_name})
        self._scope = InstrumentationScope("evaltrace", __version__)

    def forward(self, traces: Sequence[Trace]) -> None:
        for trace in traces:
            for span in trace.data.spans:
                self._processor.on_end(self._readable(trace, span))

    def force_flush(self, timeout_s: float = 30.0) -> bool:
        return bool(self._processor.force_flush(int(timeout_s * 1000)))

    def shutdown(self) -> None:
        self._processor.shutdown()

    def _readable(self, trace: Trace, span: Span) -> Any:
        from opentelemetry.sdk.trace import Event, ReadableSpan
        from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

        trace_id = parse_trace_id(span.trace_id) or 0

        def context(span_id: str) -> SpanContext:
            return SpanContext(trace_id, int(span_id, 16), False, TraceFlags(TraceFlags.SAMPLED))

        attributes = otel_attributes(span)
        if span.parent_id is None:
            session = trace.info.trace_metadata.get(SESSION_METADATA_KEY)
            if session:
                attributes["session.id"] = attributes["gen_ai.conversation.id"] = session
        code = {
            SpanStatusCode.OK: StatusCode.OK,
            SpanStatusCode.ERROR: StatusCode.ERROR,
        }.get(span.status.status_code, StatusCode.UNSET)
        return ReadableSpan(
            name=span.name,
            context=context(span.span_id),
            parent=None if span.parent_id is None else context(span.parent_id),
            resource=self._resource,
            attributes=attributes,
            events=[
                Event(e.name, _flat(e.attributes), timestamp=e.timestamp_ns) for e in span.events
            ]
            + [
                Event(EVALUATION_EVENT, evaluation_attributes(f), timestamp=_ns(f))
                for f in _feedback_on(trace, span)
            ],
            status=Status(code, span.status.description or None)
            if code is StatusCode.ERROR
            else Status(code),
            start_time=span.start_time_ns,
            end_time=span.end_time_ns,
            instrumentation_scope=self._scope,
        )


def _feedback_on(trace: Trace, span: Span) -> list[Feedback]:
    """The trace's valid Feedback that judges this span (one naming no span judges the root)."""
    return [
        a
        for a in trace.info.assessments
        if isinstance(a, Feedback)
        and a.valid
        and (a.span_id == span.span_id or (a.span_id is None and span.parent_id is None))
    ]


def evaluation_attributes(feedback: Feedback) -> dict[str, Any]:
    """A Feedback as a ``gen_ai.evaluation.result`` event's attributes (what evaltrace's OTLP
    ingest, and any backend reading the GenAI conventions, reads back as a judgment)."""
    attributes: dict[str, Any] = {"gen_ai.evaluation.name": feedback.name}
    value = feedback.value
    if isinstance(value, (bool, int, float)):
        attributes["gen_ai.evaluation.score.value"] = value
    elif value is not None:
        attributes["gen_ai.evaluation.score.label"] = _text(value)
    if feedback.rationale:
        attributes["gen_ai.evaluation.explanation"] = feedback.rationale
    if feedback.error is not None:
        attributes["error.type"] = feedback.error.error_code
    attributes["gen_ai.evaluation.source.type"] = feedback.source.source_type.value.lower()
    if feedback.source.source_id:
        attributes["gen_ai.evaluation.source.name"] = feedback.source.source_id
    return attributes


def _ns(feedback: Feedback) -> int:
    return feedback.create_time_ms * 1_000_000


def otel_attributes(span: Span) -> dict[str, Any]:
    """A stored span's attributes, inputs and outputs as OTel attribute values, under the
    GenAI and OpenInference conventions."""
    attributes = _flat(span.attributes)
    attributes["evaltrace.span.type"] = span.span_type
    operation = _OPERATIONS.get(span.span_type)
    if operation is not None:
        attributes.setdefault("gen_ai.operation.name", operation)
    inputs, outputs = span.inputs, span.outputs
    if inputs is not None:
        attributes["input.value"] = _text(inputs)
        attributes["input.mime_type"] = (
            "text/plain" if isinstance(inputs, str) else "application/json"
        )
    if outputs is not None:
        attributes["output.value"] = _text(outputs)
        attributes["output.mime_type"] = (
            "text/plain" if isinstance(outputs, str) else "application/json"
        )
    if span.span_type == SpanType.TOOL:
        if inputs is not None:
            attributes["gen_ai.tool.call.arguments"] = _text(inputs)
        if outputs is not None:
            attributes["gen_ai.tool.call.result"] = _text(outputs)
    if isinstance(inputs, dict) and isinstance(inputs.get("messages"), list):
        if isinstance(inputs.get("model"), str):
            attributes.setdefault("gen_ai.request.model", inputs["model"])
        attributes["gen_ai.input.messages"] = json.dumps(
            [_parts(m) for m in inputs["messages"] if isinstance(m, dict)], ensure_ascii=False
        )
    if isinstance(outputs, dict) and isinstance(outputs.get("choices"), list):
        answers = []
        for choice in outputs["choices"]:
            if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                answer = _parts(choice["message"])
                if choice.get("finish_reason"):
                    answer["finish_reason"] = choice["finish_reason"]
                answers.append(answer)
        attributes["gen_ai.output.messages"] = json.dumps(answers, ensure_ascii=False)
    return attributes


def _parts(message: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-shaped message in the GenAI conventions' parts form."""
    parts: list[dict[str, Any]] = []
    content = message.get("content")
    if isinstance(content, str):
        parts.append({"type": "text", "content": content})
    elif isinstance(content, list):
        parts.extend(
            {"type": "text", "content": str(part.get("text", ""))}
            for part in content
            if isinstance(part, dict)
        )
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict):
            function = call.get("function") or {}
            parts.append(
                {
                    "type": "tool_call",
                    "id": call.get("id"),
                    "name": function.get("name"),
                    "arguments": function.get("arguments"),
                }
            )
    return {"role": message.get("role", "user"), "parts": parts}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def _flat(values: dict[str, Any]) -> dict[str, Any]:
    """Values OTel attributes can hold: scalars and lists of one scalar type as they are,
    anything else as its JSON text."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if isinstance(value, (str, bool, int, float)) or (
            isinstance(value, list)
            and value
            and all(isinstance(v, (str, bool, int, float)) for v in value)
            and len({type(v) for v in value}) == 1
        ):
            flat[key] = value
        else:
            flat[key] = _text(value)
    return flat
