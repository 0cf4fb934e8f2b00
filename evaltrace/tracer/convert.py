"""OpenTelemetry spans to evaltrace entities (runs on the writer's thread)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from evaltrace._json import loads_json, storable_text
from evaltrace.entities import (
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    SpanType,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from evaltrace.entities import attribute_keys as keys
from evaltrace.entities.attribute_keys import COST_ATTRIBUTE, USAGE_ATTRIBUTES
from evaltrace.entities.limits import (
    MAX_NAME_CHARS,
    MAX_TAG_KEY_CHARS,
    MAX_TAG_VALUE_CHARS,
    PREVIEW_CHARS,
)
from evaltrace.tracer.export import FinishedTrace
from evaltrace.tracer.processor import FinishedSpan, PendingTrace, take_assessments
from evaltrace.tracer.redact import redact
from evaltrace.tracer.serialize import to_json

__all__ = [
    "format_span_id",
    "format_trace_id",
    "parse_trace_id",
    "root_summary",
    "to_finished_trace",
    "to_trace",
    "usage_of",
]


def format_trace_id(otel_trace_id: int) -> str:
    return f"tr-{otel_trace_id:032x}"


def parse_trace_id(trace_id: str) -> int | None:
    """``format_trace_id`` undone: OpenTelemetry's integer id, or None for another id."""
    digits = trace_id[3:] if trace_id.startswith("tr-") else ""
    if len(digits) != 32:
        return None
    try:
        return int(digits, 16)
    except ValueError:
        return None


def format_span_id(otel_span_id: int) -> str:
    return f"{otel_span_id:016x}"


def to_finished_trace(pending: PendingTrace) -> FinishedTrace:
    """The trace as an entity, with its destination; the exporter fills in the experiment."""
    if pending.late:
        return FinishedTrace(pending.destination, _appended_spans(pending), appended=True)
    return FinishedTrace(
        pending.destination, to_trace(pending, pending.destination.experiment_id or "")
    )


def _appended_spans(pending: PendingTrace) -> Trace:
    """Late spans as a Trace whose info only names the trace (the stored one keeps its own)."""
    trace_id = format_trace_id(pending.otel_trace_id)
    spans = tuple(_to_span(finished, trace_id)[0] for finished in pending.spans)
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id="",
        request_time=spans[0].start_time_ns // 1_000_000,
        execution_duration=None,
        state=TraceState.OK,
    )
    return Trace(info=info, data=TraceData(spans=spans))


def to_trace(pending: PendingTrace, experiment_id: str) -> Trace:
    # First: from here on, tags and assessments given for the running trace go to the store.
    logged_while_running = take_assessments(pending)
    trace_id = format_trace_id(pending.otel_trace_id)
    root_span_id = format_span_id(pending.root_span_id)
    spans, root, root_texts = [], None, _NO_TEXTS
    for finished in pending.spans:
        span, texts = _to_span(finished, trace_id)
        spans.append(span)
        if span.span_id == root_span_id:
            root, root_texts = span, texts
    if root is None:
        raise ValueError(f"trace {trace_id} has no span {root_span_id}")
    spans.sort(key=lambda s: s.start_time_ns)
    if root.parent_id is not None:
        # The root's parent lives in another process or tracer: it is our root all the same.
        spans = [_without_parent(s) if s is root else s for s in spans]
    summary = root_summary(
        root,
        redact(_preview(pending.request_preview, root.inputs, root_texts[0])),
        redact(_preview(pending.response_preview, root.outputs, root_texts[1])),
    )
    if pending.state is not None:  # update_current_trace(state=...)
        summary["state"] = TraceState(pending.state)
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id=experiment_id,
        **summary,
        client_request_id=redact(_clip(pending.client_request_id, MAX_TAG_VALUE_CHARS)),
        tags=redact(_string_map(pending.tags)),
        trace_metadata=redact(_string_map(pending.metadata)),
        assessments=logged_while_running,
        **usage_of(spans),
    )
    return Trace(info=info, data=TraceData(spans=tuple(spans)))


_UNSET = object()


def root_summary(
    root: Span, request_preview: Any = _UNSET, response_preview: Any = _UNSET
) -> dict[str, Any]:
    """The TraceInfo fields a trace's root span decides: its times, state and previews (the
    previews of the root's inputs and outputs unless given)."""
    end = root.end_time_ns or root.start_time_ns
    if request_preview is _UNSET:
        request_preview = redact(_preview(None, root.inputs, None))
    if response_preview is _UNSET:
        response_preview = redact(_preview(None, root.outputs, None))
    return {
        "request_time": root.start_time_ns // 1_000_000,
        "execution_duration": (end - root.start_time_ns) // 1_000_000,
        "state": TraceState.ERROR
        if root.status.status_code is SpanStatusCode.ERROR
        else TraceState.OK,
        "request_preview": request_preview,
        "response_preview": response_preview,
    }


# The JSON texts a span's inputs and outputs arrived as, where redaction left them unchanged.
_Texts = tuple[str | None, str | None]
_NO_TEXTS: _Texts = (None, None)


def to_span(span: FinishedSpan, trace_id: str) -> Span:
    return _to_span(span, trace_id)[0]


def _to_span(span: FinishedSpan, trace_id: str) -> tuple[Span, _Texts]:
    raw = dict(span.attributes)
    ours = keys.SPAN_TYPE in raw
    inputs, inputs_text = _payload(raw.pop(keys.SPAN_INPUTS, None), "inputs")
    outputs, outputs_text = _payload(raw.pop(keys.SPAN_OUTPUTS, None), "outputs")
    # Set as plain text (spans.span_attributes): a type that reads as JSON ("null") stays text.
    span_type = _plain(raw.pop(keys.SPAN_TYPE, None)) or SpanType.UNKNOWN
    json_keys = raw.pop(keys.JSON_KEYS, ()) if ours else ()
    attributes = {k: _decode(v) if k in json_keys else _plain(v) for k, v in raw.items()}
    converted = Span(
        trace_id=trace_id,
        span_id=format_span_id(span.span_id),
        parent_id=None if span.parent_id is None else format_span_id(span.parent_id),
        name=redact(_clip(span.name, MAX_NAME_CHARS) or ""),
        span_type=str(span_type),
        start_time_ns=span.start_time,
        end_time_ns=span.end_time,
        status=SpanStatus(
            status_code=SpanStatusCode(span.status),
            # An exception's message: its event is redacted, so is this copy of it.
            description=redact(storable_text(span.status_message or "")),
        ),
        inputs=inputs,
        outputs=outputs,
        attributes=redact(attributes),
        events=tuple(
            SpanEvent(
                name=redact(storable_text(name)),
                timestamp_ns=timestamp,
                attributes=redact({k: _plain(v) for k, v in event_attributes.items()}),
            )
            for name, timestamp, event_attributes in span.events
        ),
    )
    return converted, (inputs_text, outputs_text)


def _payload(text: Any, name: str) -> tuple[Any, str | None]:
    """Inputs or outputs, decoded and redacted; the text too, when redaction changed nothing."""
    decoded = _decode(text)
    redacted = redact(decoded, (name,), text=text if isinstance(text, str) else None)
    unchanged = redacted is decoded and isinstance(text, str) and decoded is not text
    return redacted, storable_text(text) if unchanged else None


def usage_of(spans: Sequence[Span]) -> dict[str, Any]:
    """Token usage and cost summed over the spans that report them (LLM calls)."""
    usage: dict[str, int] = {}
    cost: float | None = None
    for span in spans:
        for attribute, key in USAGE_ATTRIBUTES.items():
            value = span.attributes.get(attribute)
            if isinstance(value, int) and not isinstance(value, bool):
                usage[key] = usage.get(key, 0) + value
        span_cost = span.attributes.get(COST_ATTRIBUTE)
        if isinstance(span_cost, (int, float)) and not isinstance(span_cost, bool):
            cost = (cost or 0.0) + span_cost
    if usage and "total_tokens" not in usage:
        usage["total_tokens"] = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
    return {"token_usage": usage or None, "cost_usd": cost}


def _without_parent(span: Span) -> Span:
    return replace(span, parent_id=None)


def _decode(value: Any) -> Any:
    """Values evaltrace wrote are JSON text; anything else is kept as it is."""
    if isinstance(value, str):
        value = storable_text(value)  # a surrogate can only sit inside a JSON string
        try:
            return loads_json(value)
        except ValueError:  # not JSON: a value another tracer set
            return value
    return _plain(value)


def _plain(value: Any) -> Any:
    """An OpenTelemetry attribute value as stored: sequences become lists, text storable, and
    NaN or infinities their names (JSON has no such numbers; evaltrace's own values do the same).
    """
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def _preview(override: str | None, value: Any, text: str | None) -> str | None:
    """The override, else a string value itself, else the value's JSON: ``text`` when the value
    came as that text, unchanged."""
    if override is not None:
        return _clip(override, PREVIEW_CHARS)
    if value is None:
        return None
    said = _chat_text(value)
    if said is not None:
        return _clip(said, PREVIEW_CHARS)
    if isinstance(value, str):
        text = value
    elif text is None:
        text = json.dumps(value, ensure_ascii=False)
    return _clip(text, PREVIEW_CHARS)


def _chat_text(value: Any) -> str | None:
    """For a chat call (OpenAI's shape), what a person reads: the request's last user
    message, or the response's first answer. None for anything else."""
    if not isinstance(value, dict):
        return None
    messages = value.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return _content_text(message.get("content"))
        return None
    choices = value.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        message = choices[0].get("message")
        if isinstance(message, dict):
            return _content_text(message.get("content"))
    return None


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        texts = [
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        ]
        return "\n".join(texts) if texts else None
    return None


def _clip(text: str | None, limit: int) -> str | None:
    """At most ``limit`` characters, without NUL or lone surrogates (the store holds neither)."""
    if text is None:
        return None
    text = storable_text(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _string_map(values: dict[str, Any]) -> dict[str, str]:
    """Tags and metadata are strings; other values are stored as their JSON text."""
    clipped = {}
    for key, value in values.items():
        text = value if isinstance(value, str) else to_json(value, MAX_TAG_VALUE_CHARS)
        clipped[_clip(str(key), MAX_TAG_KEY_CHARS) or ""] = _clip(text, MAX_TAG_VALUE_CHARS) or ""
    return clipped
