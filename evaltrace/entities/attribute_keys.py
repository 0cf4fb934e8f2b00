"""Span attribute keys, in one module: those evaltrace sets on OpenTelemetry spans, and those
that mean the same to the tracer, the store and foreign conventions.

Attribute values are native OpenTelemetry values where they can be (strings, booleans, 64-bit
integers, finite floats), so every processor sees them as they are; anything else is JSON text,
and the span lists those keys under ``JSON_KEYS``. Inputs and outputs are always JSON text.
"""

from __future__ import annotations

__all__ = [
    "COST_ATTRIBUTE",
    "INTERNAL_KEYS",
    "JSON_KEYS",
    "MODEL_ID_METADATA_KEY",
    "PAYLOAD_KEYS",
    "RUN_TAG",
    "SESSION_METADATA_KEY",
    "SPAN_INPUTS",
    "SPAN_OUTPUTS",
    "SPAN_TYPE",
    "UNINDEXED_ATTRIBUTES",
    "UNINDEXED_ATTRIBUTE_PREFIXES",
    "USAGE_ATTRIBUTES",
    "USER_METADATA_KEY",
    "is_indexed_attribute",
]

# What evaltrace sets on its spans.
SPAN_TYPE = "evaltrace.span.type"
SPAN_INPUTS = "evaltrace.span.inputs"
SPAN_OUTPUTS = "evaltrace.span.outputs"
JSON_KEYS = "evaltrace.span.json_keys"  # the other keys whose values are JSON text

INTERNAL_KEYS = frozenset({SPAN_TYPE, SPAN_INPUTS, SPAN_OUTPUTS, JSON_KEYS})
PAYLOAD_KEYS = frozenset({SPAN_INPUTS, SPAN_OUTPUTS})

# Token usage attributes (OpenTelemetry GenAI semantic conventions) -> TraceInfo.token_usage keys.
USAGE_ATTRIBUTES = {
    "gen_ai.usage.input_tokens": "input_tokens",
    "gen_ai.usage.output_tokens": "output_tokens",
    "gen_ai.usage.total_tokens": "total_tokens",
}
COST_ATTRIBUTE = "evaltrace.cost_usd"

# Trace metadata naming the conversation (session) a trace belongs to (the reference's key).
SESSION_METADATA_KEY = "mlflow.trace.session"
RUN_TAG = "evaltrace.run_id"  # the tag naming the evaluation run a trace was made in
USER_METADATA_KEY = "mlflow.trace.user"  # the user a trace served (the reference's key)
MODEL_ID_METADATA_KEY = "mlflow.modelId"  # the app version (the reference's key)

# Attributes in which other conventions carry a span's inputs, outputs and messages (OTLP
# ingest maps them into the span's inputs and outputs). They stay in the span's attributes but
# out of the search index: they are large, are searched through nothing but substring scans,
# and indexing them cost a third of OTLP ingest time.
UNINDEXED_ATTRIBUTES = frozenset(
    {
        "input.value",
        "output.value",
        "mlflow.spanInputs",
        "mlflow.spanOutputs",
        "traceloop.entity.input",
        "traceloop.entity.output",
        "gen_ai.input.messages",
        "gen_ai.output.messages",
        "gen_ai.system_instructions",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result",
    }
)
UNINDEXED_ATTRIBUTE_PREFIXES = (
    "llm.input_messages.",
    "llm.output_messages.",
    "gen_ai.prompt.",
    "gen_ai.completion.",
)


def is_indexed_attribute(key: str) -> bool:
    """Whether a span attribute is in the search index (filters can match it)."""
    return key not in UNINDEXED_ATTRIBUTES and not key.startswith(UNINDEXED_ATTRIBUTE_PREFIXES)
