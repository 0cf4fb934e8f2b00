"""Tracing: the only user of the OpenTelemetry SDK in evaltrace."""

from evaltrace.tracer.context import with_current_context
from evaltrace.tracer.decorator import trace
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
    "LiveSpan",
    "add_span_processor",
    "flush",
    "get_active_trace_id",
    "get_current_active_span",
    "get_last_active_trace_id",
    "log_trace",
    "recover",
    "set_redaction_callback",
    "start_span",
    "trace",
    "update_current_trace",
    "with_current_context",
]
