"""The reference's ``mlflow.tracing`` module: tracing on and off for the process or a block,
trace-level defaults for a block, W3C headers for a downstream call, the notebook display,
chat tools on a span.

While tracing is off, ``@trace``, ``start_span`` and autolog run the application's code
untraced at the cost of one attribute read; traces already finished are still written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace as otel_trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from evaltrace._validation import require_text
from evaltrace.entities import attribute_keys as keys
from evaltrace.entities.html import NOTEBOOK_DISPLAY
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer.live_span import LiveSpan, NoOpSpan
from evaltrace.tracer.processor import TRACE_DEFAULTS
from evaltrace.tracer.spans import TRACING, UNTRACED

__all__ = [
    "context",
    "disable",
    "disable_notebook_display",
    "enable",
    "enable_notebook_display",
    "get_tracing_context_headers_for_http_request",
    "is_enabled",
    "set_span_chat_tools",
]


def disable() -> None:
    TRACING.on = False


def enable() -> None:
    TRACING.on = True


def is_enabled() -> bool:
    return TRACING.on


@contextmanager
def context(
    metadata: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    enabled: bool | None = None,
    session_id: str | None = None,
    user: str | None = None,
) -> Iterator[None]:
    """Within the block, every trace that starts gets these tags and metadata (``session_id``
    and ``user``: the reference's shorthands for ``mlflow.trace.session`` / ``.user``), with
    no span of its own: for traces made by code you do not control (autolog). ``enabled=False``
    leaves the block untraced. Blocks nest; the inner one's values win."""
    for argument, value in (("metadata", metadata), ("tags", tags)):
        if value is not None and not isinstance(value, Mapping):
            raise InvalidArgumentError(f"{argument} must be a mapping, got {type(value).__name__}")
    added_metadata = dict(metadata or {})
    for key, text in ((keys.SESSION_METADATA_KEY, session_id), (keys.USER_METADATA_KEY, user)):
        if text is not None:
            added_metadata[key] = require_text(text, key)
    outer = TRACE_DEFAULTS.get() or ({}, {})
    token = TRACE_DEFAULTS.set(({**outer[0], **(tags or {})}, {**outer[1], **added_metadata}))
    untraced = UNTRACED.set(True) if enabled is False else None
    try:
        yield
    finally:
        if untraced is not None:
            UNTRACED.reset(untraced)
        TRACE_DEFAULTS.reset(token)


def get_tracing_context_headers_for_http_request() -> dict[str, str]:
    """W3C Trace Context headers (``traceparent``) naming the current span, for a call to
    another service: its own OpenTelemetry instrumentation continues from here. Empty outside
    a span."""
    headers: dict[str, str] = {}
    span = otel_trace.get_current_span()
    if span.get_span_context().is_valid:
        TraceContextTextMapPropagator().inject(headers)
    return headers


def disable_notebook_display() -> None:
    """Notebooks show a trace by its repr, not as a table."""
    NOTEBOOK_DISPLAY.on = False


def enable_notebook_display() -> None:
    NOTEBOOK_DISPLAY.on = True


def set_span_chat_tools(span: LiveSpan | NoOpSpan, tools: Sequence[Mapping[str, Any]]) -> None:
    """Record the tools a chat model was offered on its span (``mlflow.chat.tools``, as the
    reference's UI reads them), each ``{"type": "function", "function": {...}}``."""
    if isinstance(tools, (str, bytes)) or not isinstance(tools, Sequence):
        raise InvalidArgumentError(f"tools must be a list of dicts, got {type(tools).__name__}")
    for index, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or not isinstance(tool.get("function"), Mapping):
            raise InvalidArgumentError(
                f"tools[{index}] must be a dict with a 'function' dict (name, parameters)"
            )
    span.set_attribute("mlflow.chat.tools", [dict(tool) for tool in tools])
