"""One OpenAI call's span: started before the request, ended exactly once."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from opentelemetry.sdk.trace import Span as OtelSpan
from opentelemetry.trace import Status, StatusCode

from evaltrace._config import get_settings
from evaltrace._internal_errors import log_internal_error
from evaltrace.entities import attribute_keys as keys
from evaltrace.integrations.openai.extract import Endpoint, request_attributes, response_attributes
from evaltrace.tracer.live_span import (
    event_attributes,
    record_error,
    set_span_attribute,
    set_span_attributes,
)
from evaltrace.tracer.serialize import to_json
from evaltrace.tracer.spans import (
    end_later,
    open_span,
    parent_for_new_span,
    span_attributes,
    tracing_here,
)

__all__ = ["CallSpan", "Event"]

Event = tuple[str, dict[str, Any], int]  # name, attributes, time (ns since the epoch)


class CallSpan:
    """The span is the whole record: when it ends it carries every ``gen_ai.*`` attribute
    (native values), the inputs and the outputs, so any processor added with
    ``add_span_processor`` (an OTLP exporter, say) sees what the store sees. The caller's
    thread only starts the span and snapshots request and response; the attributes are made
    and the span ended (with the caller's end time) on the writer's thread, and its trace
    waits for it there."""

    __slots__ = ("_ended", "_lock", "_request", "span")

    def __init__(self, span: OtelSpan, request: tuple[Endpoint, Any, str]) -> None:
        self.span = span
        self._request = request
        self._ended = False
        self._lock = threading.Lock()

    @classmethod
    def start(cls, endpoint: Endpoint, body: Any, base_url: str) -> CallSpan | None:
        if not tracing_here():
            return None
        try:
            settings = get_settings()
            parent = parent_for_new_span(settings.trace_sampling_ratio)
            if parent is None:  # sampling left this trace out
                return None
            attributes = span_attributes(endpoint.span_type, None)
            attributes["evaltrace.span.inputs"] = to_json(body, settings.max_payload_chars)
            # A shallow copy is the snapshot the request settings are read from, at the end.
            request = (endpoint, dict(body) if isinstance(body, dict) else None, base_url)
            return cls(open_span(endpoint.name, attributes, parent), request)
        except Exception as exc:
            log_internal_error("openai autolog start", exc)
            return None

    def _claim(self) -> bool:
        with self._lock:
            if self._ended:
                return False
            self._ended = True
            return True

    @property
    def ended(self) -> bool:
        return self._ended

    def set(self, key: str, value: Any) -> None:
        try:
            set_span_attribute(self.span, key, value)
        except Exception as exc:
            log_internal_error("openai autolog attribute", exc)

    def succeed(
        self,
        outputs: Any,
        *,
        events: list[Event] | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        """End OK; ``outputs`` must be the caller's own snapshot (a fresh dict, not the app's).
        ``events``: (name, attributes, time in ns) to add as the span ends (a stream's
        chunks); ``attributes``: more attributes to set."""
        if not self._claim():
            return
        try:
            finish = partial(self._record, outputs, attributes or {}, events or [], ok=True)
            end_later(self.span, finish)
        except Exception as exc:
            log_internal_error("openai autolog end", exc)

    def fail(
        self, exception: BaseException, outputs: Any = None, events: list[Event] | None = None
    ) -> None:
        if not self._claim():
            return
        try:
            record_error(self.span, exception)  # now: the traceback is the caller's
            end_later(self.span, partial(self._record, outputs, {}, events or [], ok=False))
        except Exception as exc:
            log_internal_error("openai autolog error", exc)

    def _record(
        self,
        outputs: Any,
        extra: dict[str, Any],
        events: list[Event],
        span: OtelSpan,
        *,
        ok: bool,
    ) -> None:
        """On the writer's thread, before the span ends: request settings and response facts,
        then the outputs and the events, onto the span."""
        for name, attributes_of_event, timestamp in events:
            span.add_event(name, event_attributes(attributes_of_event), timestamp)
        if ok and span.status.status_code is StatusCode.UNSET:
            span.set_status(Status(StatusCode.OK))
        attributes = {
            **request_attributes(*self._request),
            **response_attributes(outputs),
            **extra,
        }
        if outputs is not None:
            attributes[keys.SPAN_OUTPUTS] = outputs
        set_span_attributes(span, attributes)
