"""Starting and ending evaltrace spans, and the calls that act on the current span or trace."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span as OtelSpan
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
)

from evaltrace._config import get_settings
from evaltrace._internal_errors import handle_internal_errors, logger
from evaltrace._validation import require_text
from evaltrace.entities import SpanType
from evaltrace.entities import attribute_keys as keys
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer.convert import format_trace_id
from evaltrace.tracer.live_span import LiveSpan, NoOpSpan, record_error
from evaltrace.tracer.pipeline import get_pipeline
from evaltrace.tracer.redacted_processor import RedactedSpanProcessor
from evaltrace.tracer.serialize import attribute_value

__all__ = [
    "UNSAMPLED",
    "add_span_processor",
    "end_later",
    "end_span_ok",
    "flush",
    "get_current_active_span",
    "get_last_active_trace_id",
    "open_span",
    "parent_for_new_span",
    "recover",
    "start_span",
    "update_current_trace",
]

_OK = Status(StatusCode.OK)


class _Switch:
    """Whether tracing is on in this process (``evaltrace.tracing.disable()`` turns it off):
    one attribute read on every traced call."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = True


TRACING = _Switch()
# Set in a context whose calls must not be traced (scorers judging a record: a judge's own LLM
# call is not the application's): read with TRACING on every traced call.
UNTRACED: ContextVar[bool] = ContextVar("evaltrace_untraced", default=False)


def tracing_here() -> bool:
    """Whether a traced call starting now in this context is traced."""
    return TRACING.on and not UNTRACED.get()


def recording_here() -> bool:
    """Whether code running here is inside a trace that is recorded, or would start one: False
    when tracing is off here or sampling left the current trace out."""
    return tracing_here() and otel_trace.get_current_span() is not UNSAMPLED


@contextmanager
def untraced() -> Iterator[None]:
    """Run a block without tracing it (in this context only: other threads trace as ever)."""
    token = UNTRACED.set(True)
    try:
        yield
    finally:
        UNTRACED.reset(token)


# The current span inside a trace that sampling left out: its children see it and are left out
# too, at the cost of one comparison. Our time-ordered ids never take this trace id.
_UNSAMPLED_TRACE_ID = 1
UNSAMPLED: Final = NonRecordingSpan(
    SpanContext(_UNSAMPLED_TRACE_ID, 1, is_remote=False, trace_flags=TraceFlags(0))
)


def parent_for_new_span(sampling_ratio: float) -> SpanContext | None:
    """The parent of a span starting here (the current span's context, maybe invalid), or None
    when the span belongs to a trace sampling left out: a trace running inside ``UNSAMPLED``,
    or a new root that loses the draw (``sampling_ratio`` of them are kept)."""
    parent = otel_trace.get_current_span().get_span_context()
    if parent.trace_id == _UNSAMPLED_TRACE_ID:
        return None
    left_out = (
        sampling_ratio < 1.0
        and not _continues_our_trace(parent)
        and random.random() >= sampling_ratio
    )
    return None if left_out else parent


def _continues_our_trace(parent: SpanContext) -> bool:
    """Whether a span under ``parent`` joins one of our traces (running, or finished: a late
    child is appended to the stored trace)."""
    assembler = get_pipeline().assembler
    return parent.is_valid and (
        parent.trace_id in assembler.pending or parent.trace_id in assembler.finished
    )


def open_span(name: str, attributes: dict[str, Any], parent: SpanContext) -> OtelSpan:
    """Start a span under ``parent`` (from ``parent_for_new_span``) when it is one of our
    traces', else as the root of a new trace.

    A parent that evaltrace does not track (another tracer's span, or the parent process's
    after a fork) is linked, not adopted: its trace would never be handed to our store as a
    whole. A span of one of our traces that has already finished is a child all the same: it
    is appended to the stored trace when it ends.
    """
    tracer = get_pipeline().tracer
    if parent.is_valid and not _continues_our_trace(parent):
        return tracer.start_span(  # type: ignore[return-value]
            name, context=Context(), links=[Link(parent)], attributes=attributes
        )
    return tracer.start_span(name, attributes=attributes)  # type: ignore[return-value]


def end_span_ok(span: OtelSpan, outputs_json: str | None, end_time: int | None = None) -> None:
    """End ``span`` OK (unless a status was set), at ``end_time`` (ns; default: now)."""
    if outputs_json is not None:
        span.set_attribute(keys.SPAN_OUTPUTS, outputs_json)
    if span.status.status_code is StatusCode.UNSET:
        span.set_status(_OK)
    span.end(end_time)


def end_span_error(span: OtelSpan, exception: BaseException) -> None:
    record_error(span, exception)
    span.end()


def end_later(span: OtelSpan, finish: Callable[[OtelSpan], None]) -> None:
    """End ``span`` on the writer's thread: ``finish(span)`` sets its last attributes there,
    then the span ends with the end time taken now. Its trace waits for it, so every processor
    sees the whole span. The span ends even if ``finish`` fails."""
    end_time = time.time_ns()

    def finish_and_end() -> None:
        try:
            finish(span)
        finally:
            span.end(end_time=end_time)

    pipeline = get_pipeline()
    if pipeline.assembler.hold(span):
        pipeline.writer.defer(finish_and_end)
    else:
        finish_and_end()


def span_attributes(span_type: str, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """The starting attributes of a span: native values where OpenTelemetry has them, the
    others as JSON text (their keys listed under ``JSON_KEYS``)."""
    if attributes is not None and not isinstance(attributes, Mapping):
        raise InvalidArgumentError(f"attributes must be a mapping, got {type(attributes).__name__}")
    encoded: dict[str, Any] = {keys.SPAN_TYPE: str(require_text(span_type, "span_type"))}
    if attributes:
        limit = get_settings().max_payload_chars
        json_keys = []
        for key, value in attributes.items():
            encoded[require_text(key, "attribute key")], is_json = attribute_value(value, limit)
            if is_json:
                json_keys.append(key)
        if json_keys:
            encoded[keys.JSON_KEYS] = tuple(json_keys)
    return encoded


class _SpanContext:
    """What ``start_span`` returns: a context manager around one span."""

    __slots__ = ("_attributes", "_name", "_span", "_token")

    def __init__(self, name: str, attributes: dict[str, Any]) -> None:
        self._name = name
        self._attributes = attributes
        self._span: OtelSpan | None = None
        self._token: object | None = None

    def __enter__(self) -> LiveSpan | NoOpSpan:
        if not tracing_here():
            return NoOpSpan()
        with handle_internal_errors("start_span"):
            parent = parent_for_new_span(get_settings().trace_sampling_ratio)
            if parent is None:  # sampled out: the block's own spans are left out too
                self._token = otel_context.attach(otel_trace.set_span_in_context(UNSAMPLED))
                return NoOpSpan()
            span = open_span(self._name, self._attributes, parent)
            self._token = otel_context.attach(otel_trace.set_span_in_context(span))
            self._span = span
            return LiveSpan(span)
        return NoOpSpan()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        span, token = self._span, self._token
        if span is None and token is None:
            return
        with handle_internal_errors("start_span exit"):
            if token is not None:
                otel_context.detach(token)  # type: ignore[arg-type]
            if span is None:  # sampled out
                return
            if exc is not None:
                end_span_error(span, exc)
            else:
                end_span_ok(span, None)


def start_span(
    name: str = "span",
    span_type: str = SpanType.UNKNOWN,
    attributes: Mapping[str, Any] | None = None,
) -> _SpanContext:
    """A context manager that runs its block in a new span (a child of the current one).

    ``with evaltrace.start_span("retrieve", span_type="RETRIEVER") as span: ...`` — the block's
    exception, if any, is recorded on the span and propagates unchanged.
    """
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"span name must be a non-empty string, got {name!r}")
    return _SpanContext(name, span_attributes(span_type, attributes))


def get_current_active_span() -> LiveSpan | None:
    """The evaltrace span running in this context, or None."""
    span = otel_trace.get_current_span()
    if not isinstance(span, OtelSpan) or not span.is_recording():
        return None
    if span.get_span_context().trace_id not in get_pipeline().assembler.pending:
        return None
    return LiveSpan(span)


def get_active_trace_id() -> str | None:
    """The id of the evaltrace trace running in this context, or None (the reference's
    ``mlflow.get_active_trace_id``): assessments can be logged on it before it finishes."""
    span = get_current_active_span()
    return None if span is None else span.trace_id


def update_current_trace(
    tags: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    request_preview: str | None = None,
    response_preview: str | None = None,
    client_request_id: str | None = None,
    state: str | None = None,
    session_id: str | None = None,
    user: str | None = None,
    model_id: str | None = None,
) -> None:
    """Add tags and metadata to the trace running in this context, or set its previews, or
    its final ``state`` ("OK" or "ERROR", whatever its root's status says). ``session_id``,
    ``user`` and ``model_id`` are the reference's shorthands for the metadata that groups
    conversations (``mlflow.trace.session``), names the user (``mlflow.trace.user``) and the
    app version (``mlflow.modelId``).

    Keys and values are stored as strings (other values as their JSON text). Outside a trace
    this logs a warning and does nothing.
    """
    if state is not None and state not in ("OK", "ERROR"):
        raise InvalidArgumentError(f"state must be 'OK' or 'ERROR', got {state!r}")
    for argument, value in (("tags", tags), ("metadata", metadata)):
        if value is not None and not isinstance(value, Mapping):
            raise InvalidArgumentError(f"{argument} must be a mapping, got {type(value).__name__}")
    if isinstance(client_request_id, int | float) and not isinstance(client_request_id, bool):
        client_request_id = str(client_request_id)  # an id kept as its text, as the reference does
    shorthands = {
        keys.SESSION_METADATA_KEY: session_id,
        keys.USER_METADATA_KEY: user,
        keys.MODEL_ID_METADATA_KEY: model_id,
    }
    for argument, text in (
        ("request_preview", request_preview),
        ("response_preview", response_preview),
        ("client_request_id", client_request_id),
        ("session_id", session_id),
        ("user", user),
        ("model_id", model_id),
    ):
        if text is not None and not isinstance(text, str):
            raise InvalidArgumentError(f"{argument} must be a string, got {type(text).__name__}")
    span = otel_trace.get_current_span()
    if span is UNSAMPLED:  # a trace sampling left out: there is nothing to update
        return
    pending = get_pipeline().assembler.pending.get(span.get_span_context().trace_id)
    if pending is None:
        logger.warning("update_current_trace() called outside of a trace; nothing was updated")
        return
    pending.tags.update(tags or {})
    pending.metadata.update(metadata or {})
    pending.metadata.update({key: value for key, value in shorthands.items() if value is not None})
    if request_preview is not None:
        pending.request_preview = request_preview
    if response_preview is not None:
        pending.response_preview = response_preview
    if client_request_id is not None:
        pending.client_request_id = client_request_id
    if state is not None:
        pending.state = state


def get_last_active_trace_id(thread_local: bool = False) -> str | None:
    """The id of the trace that most recently finished in this process (``thread_local``:
    in this thread, for servers handling requests in threads)."""
    assembler = get_pipeline().assembler
    last = assembler.last_in_thread() if thread_local else assembler.last_trace_id
    return None if last is None else format_trace_id(last)


def flush(timeout: float | None = None) -> bool:
    """Store every finished trace: True once all are stored. Returns False as soon as the rest
    are safely in the spool (the store is unreachable: they are replayed when it is back), if
    ``timeout`` seconds ran out first, or if any was dropped since the last flush
    (``export_status()`` says how many and why)."""
    return get_pipeline().flush(timeout)


def add_span_processor(processor: SpanProcessor, *, redacted: bool = True) -> None:
    """Send evaltrace's spans to another processor too (an OTLP exporter, say).

    It sees each span as it ends redacted by the store's rules (name, attributes, inputs and
    outputs, events, status message) unless ``redacted=False`` (or redaction is off); its
    ``on_start`` sees the span as it starts.
    """
    if redacted and get_settings().redact:
        processor = RedactedSpanProcessor(processor)
    get_pipeline().add_span_processor(processor)


def recover(timeout: float | None = 30.0) -> bool:
    """Replay spooled traces (this process's, and those of processes that died) now.

    Returns True when nothing is left in the spool; False if the store is still unreachable
    when ``timeout`` runs out. Processes also do this by themselves when they start.
    """
    return get_pipeline().recover(timeout)
