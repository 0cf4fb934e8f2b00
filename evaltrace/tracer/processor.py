"""The span processor that assembles finished spans into whole traces.

Spans of unfinished traces stay in memory, keyed by OpenTelemetry trace id; when the root span
ends, the whole trace goes to the writer. Everything here runs on the application's thread, so
it does only dictionary and list work: conversion and I/O happen on the writer's thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanContext

from evaltrace._config import get_settings
from evaltrace._internal_errors import log_internal_error, logger
from evaltrace.tracer.export import Destination

__all__ = ["FinishedSpan", "PendingTrace", "TraceAssembler", "take_assessments"]


class FinishedSpan(NamedTuple):
    """What a finished span keeps while its trace waits for the writer.

    Only strings, numbers and a plain dict: the garbage collector stops tracking such tuples,
    where each SDK ReadableSpan is a dozen tracked objects that, queued by the thousand, made
    full collections cost more than tracing itself.
    """

    span_id: int
    parent_id: int | None
    name: str
    start_time: int
    end_time: int | None
    status: str  # UNSET | OK | ERROR
    status_message: str | None
    attributes: dict[str, Any]
    events: tuple[tuple[str, int, dict[str, Any]], ...]

    @classmethod
    def of(cls, span: ReadableSpan, context: SpanContext) -> FinishedSpan:
        parent = span.parent
        status = span.status
        events = span.events
        attributes = span.attributes
        return cls(
            context.span_id,
            None if parent is None else parent.span_id,
            span.name,
            span.start_time or 0,
            span.end_time,
            status.status_code.name,
            status.description,
            # A read-only view of the SDK's BoundedAttributes: its copy() is one dict copy,
            # where dict(view) iterated it under its lock (a third of this method's time).
            attributes.copy() if attributes else {},  # type: ignore[attr-defined]
            tuple((e.name, e.timestamp, dict(e.attributes or {})) for e in events)
            if events
            else (),
        )


# Tags and metadata every trace started in this context gets (``tracing.context(...)``): read
# once as a trace's root starts.
TRACE_DEFAULTS: ContextVar[tuple[dict[str, Any], dict[str, Any]] | None] = ContextVar(
    "evaltrace_trace_defaults", default=None
)


@dataclass(slots=True)
class PendingTrace:
    """A trace whose spans are being collected; becomes a ``Trace`` on the writer's thread."""

    otel_trace_id: int
    root_span_id: int
    destination: Destination
    spans: list[FinishedSpan] = field(default_factory=list)
    tags: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = None
    late: bool = False  # spans that ended after their root: appended to the stored trace
    # Assessments logged while the trace ran, written with it; ``converted`` once the writer
    # took them (both under _ASSESSMENTS_LOCK: a later one goes to the store directly).
    assessments: tuple[Any, ...] = ()  # a tuple: no allocation per trace on the app's thread
    converted: bool = False
    state: str | None = None  # set by update_current_trace(state=...): wins over the root's
    # Span ids whose end was deferred to the writer's thread and has not happened yet.
    held: set[int] = field(default_factory=set)
    root_ended: bool = False


_ASSESSMENTS_LOCK = threading.Lock()


def take_assessments(pending: PendingTrace) -> tuple[Any, ...]:
    """The assessments logged on the trace while it ran; none can join them afterwards."""
    with _ASSESSMENTS_LOCK:
        pending.converted = True
        return pending.assessments


# Finished traces remembered so that a span ending after its root still finds its trace (a
# fire-and-forget task, a child generator left open): the most recent ones, by trace id.
_FINISHED_REMEMBERED = 10_000


class TraceAssembler(SpanProcessor):
    def __init__(self, writer: Any, scope: Any) -> None:
        # ``scope()`` returns the Destination in force when a trace starts.
        self._writer = writer
        self._scope = scope
        self.pending: dict[int, PendingTrace] = {}
        self.last_trace_id: int | None = None
        self.late_spans = 0
        self.enabled = True
        self.finished: OrderedDict[int, tuple[int, Destination]] = OrderedDict()
        self.inherited: set[int] = set()  # trace ids open in the parent when this process forked
        self._held_lock = threading.Lock()  # decisions about traces with deferred ends
        self._thread_last = threading.local()  # the last trace finished in each thread

    # Both hooks run on every span: plain try/except, no context manager, no allocation
    # beyond the PendingTrace of a new trace.

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            context = span.get_span_context()
            if context.trace_id in self.pending or not self.enabled:
                return
            parent = span.parent
            if parent is None or parent.is_remote:
                pending = PendingTrace(
                    otel_trace_id=context.trace_id,
                    root_span_id=context.span_id,
                    destination=self._scope(),
                )
                defaults = TRACE_DEFAULTS.get()
                if defaults is not None:
                    pending.tags.update(defaults[0])
                    pending.metadata.update(defaults[1])
                self.pending[context.trace_id] = pending
        except Exception as exc:
            log_internal_error("span processor on_start", exc)

    def on_end(self, span: ReadableSpan) -> None:
        try:
            context = cast(SpanContext, span.get_span_context())  # always set on SDK spans
            pending = self.pending.get(context.trace_id)
            if pending is None:
                if self.enabled and context.trace_id not in self.inherited:
                    self._late(span, context)
                return
            pending.spans.append(FinishedSpan.of(span, context))
            is_root = context.span_id == pending.root_span_id
            if is_root:
                self.last_trace_id = self._thread_last.trace_id = context.trace_id
            if pending.held:  # a deferred end is involved: the app's thread and the writer's
                with self._held_lock:  # must agree on who hands the trace over, exactly once
                    pending.held.discard(context.span_id)
                    pending.root_ended = pending.root_ended or is_root
                    if not pending.root_ended or pending.held:
                        return  # the last of them to end hands the trace over
            elif not is_root:
                return
            self._hand_over(pending)
        except Exception as exc:
            log_internal_error("span processor on_end", exc)

    def _hand_over(self, pending: PendingTrace) -> None:
        trace_id = pending.otel_trace_id
        del self.pending[trace_id]
        finished = self.finished
        finished[trace_id] = (pending.root_span_id, pending.destination)
        if len(finished) > _FINISHED_REMEMBERED:
            finished.popitem(last=False)
        self._writer.submit(pending)

    def tag_running(self, otel_trace_id: int, key: str, value: str) -> bool:
        """Tag a trace still running here (under the lock conversion takes its data in)."""
        with _ASSESSMENTS_LOCK:
            pending = self.pending.get(otel_trace_id)
            if pending is None or pending.converted:
                return False
            pending.tags[key] = value
            return True

    def last_in_thread(self) -> int | None:
        return getattr(self._thread_last, "trace_id", None)

    def attach_assessments(self, otel_trace_id: int, assessments: list[Any]) -> bool:
        """Keep assessments of a trace still running, to be written with it; False if the
        trace is not running here (finished traces are in the store, or on their way)."""
        with _ASSESSMENTS_LOCK:
            pending = self.pending.get(otel_trace_id)
            if pending is None or pending.converted:
                return False
            pending.assessments = (*pending.assessments, *assessments)
            return True

    def hold(self, span: Span) -> bool:
        """``span`` will end later, on the writer's thread (its last attributes are made
        there): its trace waits for it, so that every processor sees the whole span. False if
        the span belongs to no trace of ours that is still open."""
        context = span.get_span_context()
        with self._held_lock:
            pending = self.pending.get(context.trace_id)
            if pending is None or pending.root_ended or context.span_id in pending.held:
                return False
            pending.held.add(context.span_id)
        if context.span_id == pending.root_span_id:
            # Finished, as far as the caller knows.
            self.last_trace_id = self._thread_last.trace_id = context.trace_id
        return True

    def _late(self, span: ReadableSpan, context: SpanContext) -> None:
        """A span that ended after its root: appended to its stored trace."""
        known = self.finished.get(context.trace_id)
        self.late_spans += 1
        if known is None:  # not one of ours, or finished too long ago to be remembered
            logger.warning(
                "evaltrace: span %r ended after its trace was finished and forgotten; not stored",
                span.name,
            )
            return
        root_span_id, destination = known
        late = PendingTrace(context.trace_id, root_span_id, destination, late=True)
        late.spans.append(FinishedSpan.of(span, context))
        self._writer.submit(late)

    def after_fork_in_child(self) -> None:
        """A forked child starts clean: the parent's open traces are the parent's to finish.
        A span the child starts under one of them becomes the root of a trace of its own (it
        is linked to the parent's span: see spans.open_span), and a parent's span the child
        happens to end is ignored."""
        self.inherited.update(self.pending)
        self.inherited.update(self.finished)
        self.pending = {}
        self.finished = OrderedDict()
        self._held_lock = threading.Lock()

    def shutdown(self) -> None:
        if not self.enabled:  # the pipeline shut down first (it flushed already)
            return
        self._writer.flush(timeout=get_settings().flush_on_exit_timeout)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self._writer.flush(timeout=timeout_millis / 1000))
