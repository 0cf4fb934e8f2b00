"""Spans outside the context: ``start_span_no_context`` (the caller links parents and ends
spans by hand, as callback-based frameworks do) and ``add_trace`` (a finished trace, say one a
remote service returned, grafted under a span of the running trace). The reference's names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span as OtelSpan
from opentelemetry.trace import Status, StatusCode

from evaltrace._config import get_settings
from evaltrace._internal_errors import handle_internal_errors
from evaltrace._validation import require_text
from evaltrace.entities import Span, SpanStatusCode, SpanType, Trace
from evaltrace.entities import attribute_keys as keys
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer.live_span import LiveSpan, NoOpSpan, event_attributes
from evaltrace.tracer.pipeline import get_pipeline
from evaltrace.tracer.serialize import to_json
from evaltrace.tracer.spans import (
    end_span_ok,
    get_current_active_span,
    span_attributes,
    tracing_here,
)

__all__ = ["DetachedSpan", "add_trace", "start_span_no_context"]


class DetachedSpan(LiveSpan):
    """A span no context holds: the caller ends it (``end()``), exactly once."""

    __slots__ = ()

    def end(
        self,
        outputs: Any = None,
        attributes: Mapping[str, Any] | None = None,
        status: str | SpanStatusCode | None = None,
        end_time_ns: int | None = None,
    ) -> None:
        with handle_internal_errors("DetachedSpan.end"):
            if not self._span.is_recording():
                return  # ended already
            if outputs is not None:
                self.set_outputs(outputs)
            if attributes:
                self.set_attributes(attributes)
            if status is not None:
                self.set_status(status)
            end_span_ok(self._span, None, end_time_ns)


def start_span_no_context(
    name: str,
    span_type: str = SpanType.UNKNOWN,
    parent_span: LiveSpan | None = None,
    inputs: Any = None,
    attributes: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    start_time_ns: int | None = None,
) -> DetachedSpan | NoOpSpan:
    """Start a span that does not become the current one: a child of ``parent_span``, or the
    root of a new trace. End it with ``span.end(...)``; its trace is stored once its root has
    ended. ``tags`` and ``metadata`` go on the trace. Trace sampling does not apply (the span
    is asked for explicitly)."""
    require_text(name, "name")
    encoded = span_attributes(span_type, attributes)
    if parent_span is not None and not isinstance(parent_span, (LiveSpan, NoOpSpan)):
        raise InvalidArgumentError(
            f"parent_span must be a span evaltrace started, got {type(parent_span).__name__}"
        )
    if not tracing_here() or isinstance(parent_span, NoOpSpan):
        return NoOpSpan()
    with handle_internal_errors("start_span_no_context"):
        context = (
            Context() if parent_span is None else otel_trace.set_span_in_context(parent_span._span)
        )
        span = get_pipeline().tracer.start_span(
            name, context=context, attributes=encoded, start_time=start_time_ns
        )
        live = DetachedSpan(span)  # type: ignore[arg-type]
        if inputs is not None:
            live.set_inputs(inputs)
        _trace_facts(span, tags, metadata)  # type: ignore[arg-type]
        return live
    return NoOpSpan()


def _trace_facts(
    span: OtelSpan, tags: Mapping[str, Any] | None, metadata: Mapping[str, Any] | None
) -> None:
    for argument, value in (("tags", tags), ("metadata", metadata)):
        if value is not None and not isinstance(value, Mapping):
            raise InvalidArgumentError(f"{argument} must be a mapping, got {type(value).__name__}")
    if not tags and not metadata:
        return
    pending = get_pipeline().assembler.pending.get(span.get_span_context().trace_id)
    if pending is not None:
        pending.tags.update(tags or {})
        pending.metadata.update(metadata or {})


def add_trace(trace: Trace | Mapping[str, Any], target: LiveSpan | None = None) -> None:
    """Graft a finished trace's spans under ``target`` (default: the current span), keeping
    their names, types, times, inputs, outputs, attributes, events and status: a remote
    service's trace becomes part of the running one, stored with it."""
    if isinstance(trace, Mapping):
        try:
            trace = Trace.from_dict(dict(trace))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgumentError(f"trace is not a trace's dict: {exc}") from None
    if not isinstance(trace, Trace):
        raise InvalidArgumentError(f"trace must be a Trace or its dict, got {type(trace).__name__}")
    if target is None:
        target = get_current_active_span()
        if target is None:
            raise InvalidArgumentError(
                "add_trace needs a span to add the trace under: call it inside a traced "
                "function or span, or pass target="
            )
    if isinstance(target, NoOpSpan) or not tracing_here():
        return
    with handle_internal_errors("add_trace"):
        _graft(list(trace.data.spans), target._span)  # type: ignore[arg-type]


def _graft(spans: list[Span], under: OtelSpan) -> None:
    """Each span re-made under its (re-made) parent, parents first; the remote trace's roots
    (and spans whose parent it lacks) go under ``under``."""
    tracer = get_pipeline().tracer
    limit = get_settings().max_payload_chars
    ids = {span.span_id for span in spans}
    made: dict[str, OtelSpan] = {}
    pending = sorted(spans, key=lambda span: span.start_time_ns)
    while pending:
        waiting = []
        for span in pending:
            parent_id = span.parent_id if span.parent_id in ids else None
            if parent_id is not None and parent_id not in made:
                waiting.append(span)
                continue
            parent = made[parent_id] if parent_id is not None else under
            attributes = span_attributes(
                span.span_type or SpanType.UNKNOWN,
                {k: v for k, v in span.attributes.items() if k not in keys.INTERNAL_KEYS},
            )
            attributes[keys.SPAN_INPUTS] = to_json(span.inputs, limit)
            child: OtelSpan = tracer.start_span(  # type: ignore[assignment]
                span.name,
                context=otel_trace.set_span_in_context(parent),
                attributes=attributes,
                start_time=span.start_time_ns,
            )
            for event in span.events:
                child.add_event(event.name, event_attributes(event.attributes), event.timestamp_ns)
            if span.status.status_code is SpanStatusCode.ERROR:
                child.set_status(Status(StatusCode.ERROR, span.status.description or None))
            made[span.span_id] = child
            end_span_ok(child, to_json(span.outputs, limit), span.end_time_ns)
        if len(waiting) == len(pending):  # a cycle in the parents: graft the rest at the top
            ids -= {span.span_id for span in waiting}
        pending = waiting
