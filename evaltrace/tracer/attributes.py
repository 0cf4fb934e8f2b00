"""Span attribute keys evaltrace sets on OpenTelemetry spans.

Attribute values are native OpenTelemetry values where they can be (strings, booleans, 64-bit
integers, finite floats), so every processor sees them as they are; anything else is JSON text,
and the span lists those keys under ``JSON_KEYS``. Inputs and outputs are always JSON text.
"""

from __future__ import annotations

__all__ = ["INTERNAL_KEYS", "JSON_KEYS", "SPAN_INPUTS", "SPAN_OUTPUTS", "SPAN_TYPE"]

SPAN_TYPE = "evaltrace.span.type"
SPAN_INPUTS = "evaltrace.span.inputs"
SPAN_OUTPUTS = "evaltrace.span.outputs"
JSON_KEYS = "evaltrace.span.json_keys"  # the other keys whose values are JSON text

INTERNAL_KEYS = frozenset({SPAN_TYPE, SPAN_INPUTS, SPAN_OUTPUTS, JSON_KEYS})
PAYLOAD_KEYS = frozenset({SPAN_INPUTS, SPAN_OUTPUTS})
