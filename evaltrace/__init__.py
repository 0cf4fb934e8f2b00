"""evaltrace: trace GenAI application code into a SQL store, annotate it, evaluate it."""

from evaltrace._config import configure
from evaltrace.client import (
    get_experiment_by_name,
    get_trace,
    get_tracking_uri,
    search_traces,
    set_experiment,
    set_tracking_uri,
)
from evaltrace.entities import (
    Experiment,
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    SpanType,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from evaltrace.tracer import (
    LiveSpan,
    add_span_processor,
    flush,
    get_current_active_span,
    get_last_active_trace_id,
    start_span,
    trace,
    update_current_trace,
    with_current_context,
)

__version__ = "0.1.0"

__all__ = [
    "Experiment",
    "LiveSpan",
    "Span",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceState",
    "__version__",
    "add_span_processor",
    "configure",
    "flush",
    "get_current_active_span",
    "get_experiment_by_name",
    "get_last_active_trace_id",
    "get_trace",
    "get_tracking_uri",
    "search_traces",
    "set_experiment",
    "set_tracking_uri",
    "start_span",
    "trace",
    "update_current_trace",
    "with_current_context",
]
