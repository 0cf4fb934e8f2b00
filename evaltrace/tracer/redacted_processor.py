"""Processors added with ``add_span_processor`` see spans redacted as the store has them.

The store's copy of a span is redacted when the writer converts it; another processor (an OTLP
exporter of the application's, say) reads the OpenTelemetry span itself. This wrapper hands it
a copy redacted by the same rules: the name, every attribute (inputs, outputs and the other
JSON-valued attributes decoded, redacted and encoded again, so keys inside them count), event
names and attributes, and the status message. ``add_span_processor(p, redacted=False)`` opts
out.
"""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status

from evaltrace._json import loads_json
from evaltrace.entities import attribute_keys as keys
from evaltrace.tracer.redact import redact

__all__ = ["RedactedSpanProcessor"]


class RedactedSpanProcessor(SpanProcessor):
    def __init__(self, processor: SpanProcessor) -> None:
        self.processor = processor

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self.processor.on_end(redacted_span(span))

    def shutdown(self) -> None:
        self.processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.processor.force_flush(timeout_millis))


def redacted_span(span: ReadableSpan) -> ReadableSpan:
    attributes: dict[str, Any] = dict(span.attributes or {})
    listed = attributes.get(keys.JSON_KEYS) or ()
    json_keys = {str(key) for key in listed} | keys.PAYLOAD_KEYS
    plain = {k: v for k, v in attributes.items() if k not in json_keys}
    redacted = dict(redact(plain))
    for key in json_keys & attributes.keys():
        redacted[key] = _redacted_json(attributes[key], key)
    status = span.status
    return ReadableSpan(
        name=redact(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=redacted,
        events=tuple(
            Event(
                redact(event.name),
                dict(redact(dict(event.attributes or {}))),
                timestamp=event.timestamp,
            )
            for event in span.events
        ),
        links=span.links,
        kind=span.kind,
        status=Status(status.status_code, redact(status.description or "") or None),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def _redacted_json(text: Any, key: str) -> Any:
    if not isinstance(text, str):
        return redact(text)
    try:
        value = loads_json(text)
    except ValueError:
        return redact(text)
    changed = redact(value, (key.rsplit(".", 1)[-1],), text=text)
    return text if changed is value else json.dumps(changed, ensure_ascii=False)
