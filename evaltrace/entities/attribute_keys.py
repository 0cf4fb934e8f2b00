"""Span attribute keys that mean the same to the tracer, the store and foreign conventions."""

from __future__ import annotations

__all__ = [
    "COST_ATTRIBUTE",
    "SESSION_METADATA_KEY",
    "UNINDEXED_ATTRIBUTES",
    "UNINDEXED_ATTRIBUTE_PREFIXES",
    "USAGE_ATTRIBUTES",
    "is_indexed_attribute",
]

# Token usage attributes (OpenTelemetry GenAI semantic conventions) -> TraceInfo.token_usage keys.
USAGE_ATTRIBUTES = {
    "gen_ai.usage.input_tokens": "input_tokens",
    "gen_ai.usage.output_tokens": "output_tokens",
    "gen_ai.usage.total_tokens": "total_tokens",
}
COST_ATTRIBUTE = "evaltrace.cost_usd"

# Trace metadata naming the conversation (session) a trace belongs to (the reference's key).
SESSION_METADATA_KEY = "mlflow.trace.session"

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
