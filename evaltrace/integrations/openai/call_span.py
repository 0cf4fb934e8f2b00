"""One OpenAI call's span: started before the request, ended exactly once."""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry.sdk.trace import Span as OtelSpan

from evaltrace._config import get_settings
from evaltrace._internal_errors import log_internal_error
from evaltrace.integrations.openai.extract import Endpoint, request_attributes, response_attributes
from evaltrace.tracer.serialize import to_json
from evaltrace.tracer.spans import end_span_error, end_span_ok, open_span, span_attributes

__all__ = ["CallSpan"]


class CallSpan:
    __slots__ = ("_ended", "_lock", "span")

    def __init__(self, span: OtelSpan) -> None:
        self.span = span
        self._ended = False
        self._lock = threading.Lock()

    @classmethod
    def start(cls, endpoint: Endpoint, body: Any, base_url: str) -> CallSpan | None:
        try:
            attributes = span_attributes(
                endpoint.span_type, request_attributes(endpoint, body, base_url)
            )
            attributes["evaltrace.span.inputs"] = to_json(body, get_settings().max_payload_chars)
            return cls(open_span(endpoint.name, attributes))
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
        if not self._claim():
            return
        try:
            limit = get_settings().max_payload_chars
            attributes = {**response_attributes(outputs), **extra}
            self.span.set_attributes(
                {key: to_json(value, limit) for key, value in attributes.items()}
            )
            end_span_ok(self.span, to_json(outputs, limit))
        except Exception as exc:
            log_internal_error("openai autolog end", exc)

    def fail(self, exception: BaseException, outputs: Any = None) -> None:
        if not self._claim():
            return
        try:
            if outputs is not None:
                self.span.set_attribute(
                    "evaltrace.span.outputs", to_json(outputs, get_settings().max_payload_chars)
                )
            end_span_error(self.span, exception)
        except Exception as exc:
            log_internal_error("openai autolog error", exc)
