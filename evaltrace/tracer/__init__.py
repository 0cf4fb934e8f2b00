"""Tracing: the only user of the OpenTelemetry SDK in evaltrace."""

from evaltrace.tracer.context import with_current_context
from evaltrace.tracer.decorator import trace
from evaltrace.tracer.detached import DetachedSpan, add_trace, start_span_no_context
from evaltrace.tracer.live_span import LiveSpan
from evaltrace.tracer.logged_trace import log_trace
from evaltrace.tracer.redact import set_redaction_callback
from evaltrace.tracer.spans import (
    add_span_processor,
    flush,
    get_active_trace_id,
    get_current_active_span,
    get_last_active_trace_id,
    recover,
    start_span,
    update_current_trace,
)

__all__ = [
    "DetachedSpan",
    "LiveSpan",
    "add_span_processor",
    "add_trace",
    "flush",
    "flush_trace_async_logging",
    "get_active_trace_id",
    "get_current_active_span",
    "get_last_active_trace_id",
    "log_trace",
    "recover",
    "set_redaction_callback",
    "start_span",
    "start_span_no_context",
    "trace",
    "update_current_trace",
    "with_current_context",
]


def flush_trace_async_logging(terminate: bool = False) -> None:
    """The reference's name for ``flush()``: store every finished trace now (``terminate`` is
    accepted and changes nothing: the writer keeps serving later traces)."""
    flush()
