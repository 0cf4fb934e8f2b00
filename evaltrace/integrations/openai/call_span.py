"""One OpenAI call's span: started before the request, ended exactly once."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

from opentelemetry.sdk.trace import Span as OtelSpan

from evaltrace._config import get_settings
from evaltrace._internal_errors import log_internal_error
from evaltrace.integrations.openai.extract import Endpoint, request_attributes, response_attributes
from evaltrace.tracer import attributes as keys
from evaltrace.tracer.serialize import to_json, to_plain_json
from evaltrace.tracer.spans import end_span_error, end_span_ok, open_span, span_attributes

__all__ = ["CallSpan"]


class CallSpan:
    """The caller's thread only starts and ends the span and snapshots the request and the
    response; the ``gen_ai.*`` attributes and the outputs' JSON are worked out on the writer's
    thread (late attributes), where they cost the application nothing."""

    __slots__ = ("_ended", "_lock", "_request", "span")

    def __init__(self, span: OtelSpan, request: tuple[Endpoint, Any, str]) -> None:
        self.span = span
        self._request = request
        self._ended = False
        self._lock = threading.Lock()

    @classmethod
    def start(cls, endpoint: Endpoint, body: Any, base_url: str) -> CallSpan | None:
        try:
            attributes = span_attributes(endpoint.span_type, None)
            attributes["evaltrace.span.inputs"] = to_json(body, get_settings().max_payload_chars)
            # A shallow copy is the snapshot the request settings are read from, later.
            request = (endpoint, dict(body) if isinstance(body, dict) else None, base_url)
            return cls(open_span(endpoint.name, attributes), request)
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
            self.span.set_attribute(key, to_json(value, get_settings().max_payload_chars))
        except Exception as exc:
            log_internal_error("openai autolog attribute", exc)

    def succeed(self, outputs: Any, **extra: Any) -> None:
        """End OK; ``outputs`` must be the caller's own snapshot (a fresh dict, not the app's)."""
        if not self._claim():
            return
        try:
            end_span_ok(self.span, None, partial(_late_attributes, self._request, outputs, extra))
        except Exception as exc:
            log_internal_error("openai autolog end", exc)

    def fail(self, exception: BaseException, outputs: Any = None) -> None:
        if not self._claim():
            return
        try:
            late = partial(_late_attributes, self._request, outputs, {})
            end_span_error(self.span, exception, late)
        except Exception as exc:
            log_internal_error("openai autolog error", exc)


def _late_attributes(
    request: tuple[Endpoint, Any, str], outputs: Any, extra: dict[str, Any]
) -> dict[str, Any]:
    """Runs on the writer's thread: request settings and response facts as plain values, and
    the outputs as JSON text."""
    limit = get_settings().max_payload_chars
    attributes = {**request_attributes(*request), **response_attributes(outputs), **extra}
    late = {key: to_plain_json(value, limit) for key, value in attributes.items()}
    if outputs is not None:
        late[keys.SPAN_OUTPUTS] = to_json(outputs, limit)
    return late
