"""The span a user holds while it runs: a thin, typed face over an OpenTelemetry span."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import Span as OtelSpan
from opentelemetry.trace import Status, StatusCode

from evaltrace._config import get_settings
from evaltrace._internal_errors import handle_internal_errors
from evaltrace._validation import require_text, shown
from evaltrace.entities import Span, SpanEvent, SpanStatus, SpanStatusCode
from evaltrace.entities import attribute_keys as keys
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer.convert import format_span_id, format_trace_id, to_span
from evaltrace.tracer.serialize import attribute_value, to_json

__all__ = ["LiveSpan", "NoOpSpan", "event_attributes", "record_error"]

_PRIMITIVES = (str, bool, int, float)
_OTEL_STATUS = {
    SpanStatusCode.OK: StatusCode.OK,
    SpanStatusCode.ERROR: StatusCode.ERROR,
    SpanStatusCode.UNSET: StatusCode.UNSET,
}


def event_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Event attributes as OpenTelemetry accepts them: primitives as they are, the rest as JSON."""
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping):
        raise InvalidArgumentError(f"event attributes must be a mapping, got {shown(attributes)}")
    limit = get_settings().max_payload_chars
    return {
        require_text(k, "event attribute key"): v
        if isinstance(v, _PRIMITIVES)
        else to_json(v, limit)
        for k, v in attributes.items()
    }


def set_span_attribute(span: OtelSpan, key: str, value: Any) -> None:
    """Set one attribute as evaltrace encodes them (see entities/attribute_keys.py)."""
    set_span_attributes(span, {key: value})


def set_span_attributes(span: OtelSpan, attributes: Mapping[str, Any]) -> None:
    """Set attributes as evaltrace encodes them (see entities/attribute_keys.py), in one call."""
    limit = get_settings().max_payload_chars
    old_json_keys: tuple[str, ...] = (span.attributes or {}).get(keys.JSON_KEYS, ())  # type: ignore[assignment]
    json_keys = set(old_json_keys)
    encoded: dict[str, Any] = {}
    for key, value in attributes.items():
        if key in keys.PAYLOAD_KEYS:
            encoded[key] = to_json(value, limit)
            continue
        encoded[key], is_json = attribute_value(value, limit)
        if is_json:
            json_keys.add(key)
        else:
            json_keys.discard(key)
    if json_keys != set(old_json_keys):
        encoded[keys.JSON_KEYS] = tuple(sorted(json_keys))
    span.set_attributes(encoded)


class LiveSpan:
    """A running span. Values of any type are accepted and stored as JSON."""

    __slots__ = ("_span",)

    def __init__(self, span: OtelSpan) -> None:
        self._span = span

    @property
    def span_id(self) -> str:
        return format_span_id(self._span.get_span_context().span_id)

    @property
    def trace_id(self) -> str:
        return format_trace_id(self._span.get_span_context().trace_id)

    @property
    def name(self) -> str:
        return self._span.name

    def set_inputs(self, inputs: Any) -> None:
        self.set_attribute(keys.SPAN_INPUTS, inputs)

    def set_outputs(self, outputs: Any) -> None:
        self.set_attribute(keys.SPAN_OUTPUTS, outputs)

    def set_attribute(self, key: str, value: Any) -> None:
        require_text(key, "attribute key")
        with handle_internal_errors("LiveSpan.set_attribute"):
            set_span_attribute(self._span, key, value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if not isinstance(attributes, Mapping):
            raise InvalidArgumentError(
                f"attributes must be a mapping, got {type(attributes).__name__}"
            )
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self,
        name: str | SpanEvent,
        attributes: Mapping[str, Any] | None = None,
        timestamp_ns: int | None = None,
    ) -> None:
        """An event by name (and attributes, time), or a ``SpanEvent``."""
        if isinstance(name, SpanEvent):
            event = name
            name, attributes, timestamp_ns = event.name, event.attributes, event.timestamp_ns
        require_text(name, "event name")
        if timestamp_ns is not None and (
            isinstance(timestamp_ns, bool) or not isinstance(timestamp_ns, int) or timestamp_ns < 0
        ):
            raise InvalidArgumentError(
                f"timestamp_ns must be an int >= 0, got {shown(timestamp_ns)}"
            )
        encoded = event_attributes(attributes)
        with handle_internal_errors("LiveSpan.add_event"):
            self._span.add_event(name, encoded, timestamp_ns)

    def set_status(
        self, status: str | SpanStatusCode | SpanStatus, description: str | None = None
    ) -> None:
        """``"OK"`` / ``"ERROR"`` / ``"UNSET"`` (with a description), or a ``SpanStatus``."""
        if isinstance(status, SpanStatus):
            given = status
            status, description = given.status_code, description or given.description or None
        try:
            code = SpanStatusCode(status)
        except ValueError:
            raise InvalidArgumentError(
                f"status must be one of OK, ERROR, UNSET; got {shown(status)}"
            ) from None
        require_text(description, "description", optional=True, empty=True)
        with handle_internal_errors("LiveSpan.set_status"):
            self._span.set_status(Status(_OTEL_STATUS[code], description))

    def record_exception(self, exception: BaseException | str) -> None:
        """An ``exception`` event (type, message, stack trace) and status ERROR; a string is
        recorded as an ``Exception`` with that message."""
        if isinstance(exception, str):
            exception = Exception(exception)
        if not isinstance(exception, BaseException):
            raise InvalidArgumentError(
                f"record_exception takes an exception or a message, got {shown(exception)}"
            )
        with handle_internal_errors("LiveSpan.record_exception"):
            record_error(self._span, exception)

    # -- reading it back: the span as it will be stored (values decoded, secrets redacted) --

    def _as_stored(self) -> Span:
        context = self._span.get_span_context()
        from evaltrace.tracer.processor import FinishedSpan

        return to_span(FinishedSpan.of(self._span, context), self.trace_id)

    @property
    def parent_id(self) -> str | None:
        parent = self._span.parent
        return None if parent is None else format_span_id(parent.span_id)

    @property
    def span_type(self) -> str:
        return self._as_stored().span_type

    @property
    def status(self) -> SpanStatus:
        return self._as_stored().status

    @property
    def inputs(self) -> Any:
        return self._as_stored().inputs

    @property
    def outputs(self) -> Any:
        return self._as_stored().outputs

    @property
    def attributes(self) -> dict[str, Any]:
        return self._as_stored().attributes

    @property
    def events(self) -> tuple[SpanEvent, ...]:
        return self._as_stored().events

    @property
    def start_time_ns(self) -> int:
        return self._span.start_time or 0

    def get_attribute(self, key: str) -> Any:
        return self._as_stored().attributes.get(key)

    def to_dict(self) -> dict[str, Any]:
        return self._as_stored().to_dict()

    def __repr__(self) -> str:
        return f"LiveSpan(name={self.name!r}, span_id={self.span_id!r}, trace_id={self.trace_id!r})"


def record_error(span: OtelSpan, exception: BaseException) -> None:
    """The exception as an ``exception`` event (type, message, stack trace) and status ERROR."""
    span.record_exception(exception, escaped=True)
    try:
        message = f"{type(exception).__name__}: {exception}"
    except Exception:  # an exception whose __str__ raises
        message = type(exception).__name__
    span.set_status(Status(StatusCode.ERROR, message))


class NoOpSpan:
    """Stands in for a span when tracing itself failed: every method does nothing."""

    span_id = None
    trace_id = None
    name = ""

    def set_inputs(self, inputs: Any) -> None: ...
    def set_outputs(self, outputs: Any) -> None: ...
    def set_attribute(self, key: str, value: Any) -> None: ...
    def set_attributes(self, attributes: Mapping[str, Any]) -> None: ...
    def add_event(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        timestamp_ns: int | None = None,
    ) -> None: ...
    def set_status(
        self, status: str | SpanStatusCode | SpanStatus, description: str | None = None
    ) -> None: ...
    def record_exception(self, exception: BaseException | str) -> None: ...
    def get_attribute(self, key: str) -> Any:
        return None

    def to_dict(self) -> dict[str, Any]:
        return {}

    parent_id = None
    span_type = "UNKNOWN"
    status = SpanStatus()
    inputs = None
    outputs = None
    attributes: dict[str, Any] = {}  # noqa: RUF012 - read-only stand-in
    events: tuple[SpanEvent, ...] = ()
    start_time_ns = 0
