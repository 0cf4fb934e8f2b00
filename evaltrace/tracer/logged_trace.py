"""``log_trace``: a trace made from data (a request and its response) rather than from a run.

The reference's ``mlflow.log_trace``: requests answered elsewhere (a log file, another service,
a spreadsheet of production traffic) become traces like any other, to search, annotate and turn
into dataset records. The trace goes through the same pipeline as a traced call: redacted,
written by the writer, seen by every added span processor.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace
from opentelemetry.context import Context

from evaltrace._config import get_settings
from evaltrace._validation import require_text
from evaltrace.entities import SpanType
from evaltrace.entities import attribute_keys as keys
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer.convert import format_trace_id
from evaltrace.tracer.pipeline import get_pipeline
from evaltrace.tracer.serialize import to_json
from evaltrace.tracer.spans import (
    end_span_ok,
    span_attributes,
    tracing_here,
    update_current_trace,
)

__all__ = ["log_trace"]


def log_trace(
    name: str = "Task",
    request: Any = None,
    response: Any = None,
    intermediate_outputs: Mapping[str, Any] | None = None,
    attributes: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    start_time_ms: int | None = None,
    execution_time_ms: int | None = None,
) -> str | None:
    """Log a trace of one request: a root span ``name`` with ``request`` as its inputs and
    ``response`` as its outputs, and one child span per ``intermediate_outputs`` entry (its
    name, its outputs: what ``trace.data.intermediate_outputs`` gives back). The trace starts
    at ``start_time_ms`` (default: now) and lasts ``execution_time_ms`` (default: 0).

    It is a trace of its own, whatever span is current, and goes to the active experiment.
    Returns its id, or None when tracing is off (``tracing.disable()``). Trace sampling does
    not apply: the trace is asked for explicitly.
    """
    require_text(name, "name")
    for argument, value in (
        ("start_time_ms", start_time_ms),
        ("execution_time_ms", execution_time_ms),
    ):
        if value is not None and (type(value) is not int or value < 0):
            raise InvalidArgumentError(f"{argument} must be a non-negative int, got {value!r}")
    if intermediate_outputs is not None and not isinstance(intermediate_outputs, Mapping):
        raise InvalidArgumentError(
            "intermediate_outputs must be a mapping of span name to outputs, got "
            f"{type(intermediate_outputs).__name__}"
        )
    for span_name in intermediate_outputs or {}:
        require_text(span_name, "intermediate_outputs key")
    root_attributes = span_attributes(SpanType.UNKNOWN, attributes)  # checks attributes
    if tags is not None and not isinstance(tags, Mapping):
        raise InvalidArgumentError(f"tags must be a mapping, got {type(tags).__name__}")
    if not tracing_here():
        return None

    limit = get_settings().max_payload_chars
    start_ns = (time.time_ns() // 1_000_000 if start_time_ms is None else start_time_ms) * 10**6
    end_ns = start_ns + (execution_time_ms or 0) * 10**6
    tracer = get_pipeline().tracer
    root_attributes[keys.SPAN_INPUTS] = to_json(request, limit)
    root = tracer.start_span(
        name, context=Context(), attributes=root_attributes, start_time=start_ns
    )
    token = otel_context.attach(otel_trace.set_span_in_context(root))
    try:
        if tags:
            update_current_trace(tags=tags)
        for span_name, outputs in (intermediate_outputs or {}).items():
            child = tracer.start_span(
                span_name, attributes=span_attributes(SpanType.UNKNOWN, None), start_time=start_ns
            )
            end_span_ok(child, to_json(outputs, limit), end_ns)  # type: ignore[arg-type]
    finally:
        otel_context.detach(token)
    end_span_ok(root, to_json(response, limit), end_ns)  # type: ignore[arg-type]
    return format_trace_id(root.get_span_context().trace_id)
