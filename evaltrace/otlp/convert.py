"""Decoded OTLP spans to evaltrace entities: one part (a Trace holding some of its spans) per
trace id in a request, with the spans that cannot be stored counted and explained.

A span is rejected (the rest of the request is kept) when its trace id is not 16 non-zero
bytes, its span id not 8 non-zero bytes, its parent id neither empty nor 8 bytes, or it ends
before it starts. Attributes keep their OTLP names and values (arrays as lists, key-value lists
as dicts, bytes as base64); the resource's attributes become the trace's metadata; a
translator (translators.py) adds the span type, inputs, outputs and usage; everything is
redacted as evaltrace's own spans are.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evaltrace._json import storable_text
from evaltrace._validation import require_text
from evaltrace.entities import (
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from evaltrace.entities.attribute_keys import COST_ATTRIBUTE, SESSION_METADATA_KEY
from evaltrace.entities.limits import MAX_NAME_CHARS, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.otlp.evaluations import evaluation_feedback
from evaltrace.otlp.translators import TRANSLATED_BY, TRANSLATOR_ERROR, translate
from evaltrace.tracer.convert import format_trace_id, root_summary, usage_of
from evaltrace.tracer.redact import MARKER, Redactor, redactor

__all__ = [
    "EXPERIMENT_ATTRIBUTE",
    "Converted",
    "check_experiment",
    "convert_request",
    "experiment_references",
]

EXPERIMENT_ATTRIBUTE = "evaltrace.experiment"  # resource attribute: experiment name or id
SCOPE_ATTRIBUTE = "otel.scope.name"
_STATUS = {0: SpanStatusCode.UNSET, 1: SpanStatusCode.OK, 2: SpanStatusCode.ERROR}
_ZERO_TRACE, _ZERO_SPAN = bytes(16), bytes(8)
# Conversation and user ids of other conventions, as the reference's trace metadata.
_IDENTIFIERS = {
    "session.id": SESSION_METADATA_KEY,
    "gen_ai.conversation.id": SESSION_METADATA_KEY,
    "user.id": "mlflow.trace.user",
}
_MAX_PROBLEMS = 5  # problems quoted in a partial-success message


@dataclass
class Converted:
    """A request's spans as trace parts (each in its experiment), and what was rejected."""

    parts: list[Trace] = field(default_factory=list)
    accepted: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)

    def reject(self, problem: str) -> None:
        self.rejected += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(problem)

    def add(self, other: Converted) -> None:
        """The counts of another share of the same request (workers.py)."""
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.problems.extend(other.problems[: max(0, _MAX_PROBLEMS - len(self.problems))])

    @property
    def message(self) -> str:
        if not self.rejected:
            return ""
        more = self.rejected - len(self.problems)
        return "; ".join(self.problems) + (f"; and {more} more" if more > 0 else "")


def convert_request(
    request: Any,
    experiment_of: Callable[[str | None], str],
    shard: tuple[int, int] | None = None,
) -> Converted:
    """The spans of an ExportTraceServiceRequest as trace parts (one per trace id).

    ``experiment_of``: the experiment id for the name or id a resource gives in its
    ``evaltrace.experiment`` attribute (None: it gives none); called once per distinct one,
    when its resource has a span to store. What it raises, this raises.
    ``shard``: (index, count): only the spans of that share of the trace ids (spans without
    a trace id: shard 0's); the shards of a request together are all of it, each span in one."""
    converted = Converted()
    scrub = redactor()  # the settings looked up once for the request
    spans_by_trace: dict[str, list[Span]] = {}
    trace_meta: dict[str, dict[str, str]] = {}
    experiment_ids: dict[str | None, str] = {}
    experiment_id_of: dict[str, str] = {}
    for r, resource_spans in enumerate(request.resource_spans):
        resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
        experiment = _reference(resource.pop(EXPERIMENT_ATTRIBUTE, None))
        metadata = _metadata(resource)
        identity = _identity(resource)  # a service for one user or conversation says so here
        for s, scope_spans in enumerate(resource_spans.scope_spans):
            scope = scope_spans.scope.name
            for i, otlp_span in enumerate(scope_spans.spans):
                if shard is not None and _shard_of(otlp_span.trace_id, shard[1]) != shard[0]:
                    continue
                problem = _invalid(otlp_span)
                if problem is not None:
                    where = f"resource_spans[{r}].scope_spans[{s}].spans[{i}]"
                    converted.reject(f"{where}: {problem}")
                    continue
                if experiment not in experiment_ids:
                    experiment_ids[experiment] = experiment_of(experiment)
                span = _span(otlp_span, scope, scrub)
                spans_by_trace.setdefault(span.trace_id, []).append(span)
                experiment_id_of.setdefault(span.trace_id, experiment_ids[experiment])
                meta = trace_meta.setdefault(span.trace_id, dict(metadata))
                for target, value in _identity(span.attributes).items():
                    meta.setdefault(target, value)  # the span's own first, then its resource's
                for target, value in identity.items():
                    meta.setdefault(target, value)
                converted.accepted += 1
    converted.parts = [
        _part(trace_id, spans, trace_meta[trace_id], experiment_id_of[trace_id], scrub)
        for trace_id, spans in spans_by_trace.items()
    ]
    return converted


def experiment_references(request: Any) -> list[str | None]:
    """The distinct experiment references of a request's resources, in order (None: a resource
    names none); each checked (``check_experiment``)."""
    references: list[str | None] = []
    for resource_spans in request.resource_spans:
        value = None
        for kv in resource_spans.resource.attributes:
            if kv.key == EXPERIMENT_ATTRIBUTE:
                value = _value(kv.value)
        reference = _reference(value)
        if reference not in references:
            references.append(reference)
    return references


def _reference(value: Any) -> str | None:
    return check_experiment(str(value)) if value not in (None, "") else None


def check_experiment(reference: str) -> str:
    """An experiment name or id as a resource or the header gives it, checked."""
    require_text(reference, "the experiment (evaltrace.experiment or the header)")
    if len(reference) > MAX_NAME_CHARS:
        raise InvalidArgumentError(
            f"the experiment name is longer than {MAX_NAME_CHARS} characters"
        )
    return reference


def _shard_of(trace_id: bytes, count: int) -> int:
    return trace_id[-1] % count if trace_id else 0


def _invalid(span: Any) -> str | None:
    if len(span.trace_id) != 16 or span.trace_id == _ZERO_TRACE:
        return "trace_id must be 16 bytes, not all zero"
    if len(span.span_id) != 8 or span.span_id == _ZERO_SPAN:
        return "span_id must be 8 bytes, not all zero"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return "parent_span_id must be empty or 8 bytes"
    if span.end_time_unix_nano < span.start_time_unix_nano:
        return "the span ends before it starts"
    return None


def _span(otlp_span: Any, scope: str, scrub: Redactor) -> Span:
    trace_id = format_trace_id(int.from_bytes(otlp_span.trace_id, "big"))
    attributes = {kv.key[:MAX_TAG_KEY_CHARS]: _value(kv.value) for kv in otlp_span.attributes}
    events = tuple(
        SpanEvent(
            name=storable_text(event.name),
            timestamp_ns=event.time_unix_nano,
            attributes={kv.key: _value(kv.value) for kv in event.attributes},
        )
        for event in otlp_span.events
    )
    span_type, inputs, outputs = "UNKNOWN", None, None
    try:
        translator, mapped = translate(attributes, events)
    except Exception as exc:  # a translator's bug must not cost the span
        attributes[TRANSLATOR_ERROR] = f"{type(exc).__name__}: {exc}"[:MAX_TAG_VALUE_CHARS]
    else:
        if translator:
            attributes[TRANSLATED_BY] = translator
            span_type, inputs, outputs = mapped.span_type, mapped.inputs, mapped.outputs
            for key, tokens in mapped.usage.items():
                attributes.setdefault(key, tokens)
            if mapped.cost is not None:
                attributes.setdefault(COST_ATTRIBUTE, mapped.cost)
            elif mapped.model and mapped.usage:
                _estimate_cost(attributes, mapped.model)
    if scope:
        attributes.setdefault(SCOPE_ATTRIBUTE, scope)
    parent = otlp_span.parent_span_id
    end = otlp_span.end_time_unix_nano
    return Span(
        trace_id=trace_id,
        span_id=otlp_span.span_id.hex(),
        parent_id=parent.hex() if parent else None,
        name=scrub(storable_text(otlp_span.name)[:MAX_NAME_CHARS]),
        span_type=span_type,
        start_time_ns=otlp_span.start_time_unix_nano,
        end_time_ns=end or None,
        status=SpanStatus(
            status_code=_STATUS.get(otlp_span.status.code, SpanStatusCode.UNSET),
            description=scrub(storable_text(otlp_span.status.message)),
        ),
        inputs=scrub(inputs, ("inputs",)),
        outputs=scrub(outputs, ("outputs",)),
        attributes=scrub(attributes),
        events=tuple(
            SpanEvent(
                name=scrub(e.name), timestamp_ns=e.timestamp_ns, attributes=scrub(e.attributes)
            )
            for e in events
        ),
    )


def _estimate_cost(attributes: dict[str, Any], model: str) -> None:
    from evaltrace.integrations.openai.pricing import estimate_cost

    cost = estimate_cost(
        model,
        attributes.get("gen_ai.usage.input_tokens"),
        attributes.get("gen_ai.usage.output_tokens"),
    )
    if cost is not None:
        attributes.setdefault(COST_ATTRIBUTE, cost)


def _part(
    trace_id: str,
    spans: list[Span],
    metadata: dict[str, str],
    experiment_id: str,
    scrub: Redactor,
) -> Trace:
    """The spans of one trace in this request; the summary is its root's when the root is
    among them (no parent), else the trace is IN_PROGRESS for now."""
    unique = list({span.span_id: span for span in spans}.values())  # a span sent twice
    unique.sort(key=lambda span: span.start_time_ns)
    root = next((span for span in unique if span.parent_id is None), None)
    if root is not None:
        summary = root_summary(root)
    else:
        summary = {
            "request_time": unique[0].start_time_ns // 1_000_000,
            "execution_duration": None,
            "state": TraceState.IN_PROGRESS,
        }
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id=experiment_id,
        trace_metadata=scrub(metadata),
        assessments=tuple(j for span in unique for j in evaluation_feedback(span)),
        **summary,
        **usage_of(unique),
    )
    return Trace(info=info, data=TraceData(spans=tuple(unique)))


def _identity(attributes: dict[str, Any]) -> dict[str, str]:
    """The conversation and user ids that ``attributes`` (a span's or a resource's) name."""
    found: dict[str, str] = {}
    for key, target in _IDENTIFIERS.items():
        value = attributes.get(key)
        if isinstance(value, str) and value and value != MARKER:
            found.setdefault(target, value[:MAX_TAG_VALUE_CHARS])
    return found


def _metadata(resource: dict[str, Any]) -> dict[str, str]:
    """Resource attributes as trace metadata (strings; other values as their JSON text)."""
    metadata = {}
    for key, value in resource.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        metadata[key[:MAX_TAG_KEY_CHARS]] = storable_text(text)[:MAX_TAG_VALUE_CHARS]
    return metadata


def _value(value: Any) -> Any:
    """An OTLP AnyValue as a plain value."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return storable_text(value.string_value)
    if kind == "int_value" or kind == "bool_value":
        return getattr(value, kind)
    if kind == "double_value":
        number = value.double_value
        return number if math.isfinite(number) else str(number)
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return None
