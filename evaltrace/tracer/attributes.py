"""Span attribute keys evaltrace sets on OpenTelemetry spans (values are JSON text)."""

from __future__ import annotations

__all__ = ["INTERNAL_KEYS", "SPAN_INPUTS", "SPAN_OUTPUTS", "SPAN_TYPE"]

SPAN_TYPE = "evaltrace.span.type"
SPAN_INPUTS = "evaltrace.span.inputs"
SPAN_OUTPUTS = "evaltrace.span.outputs"

INTERNAL_KEYS = frozenset({SPAN_TYPE, SPAN_INPUTS, SPAN_OUTPUTS})
