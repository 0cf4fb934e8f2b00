"""Span attribute keys that mean the same to the tracer, the store and foreign conventions."""

from __future__ import annotations

__all__ = ["COST_ATTRIBUTE", "SESSION_METADATA_KEY", "USAGE_ATTRIBUTES"]

# Token usage attributes (OpenTelemetry GenAI semantic conventions) -> TraceInfo.token_usage keys.
USAGE_ATTRIBUTES = {
    "gen_ai.usage.input_tokens": "input_tokens",
    "gen_ai.usage.output_tokens": "output_tokens",
    "gen_ai.usage.total_tokens": "total_tokens",
}
COST_ATTRIBUTE = "evaltrace.cost_usd"

# Trace metadata naming the conversation (session) a trace belongs to (the reference's key).
SESSION_METADATA_KEY = "mlflow.trace.session"
