"""The OpenAI integration (imported only when used: ``import evaltrace`` never imports openai)."""

from evaltrace.integrations.openai.autolog import autolog
from evaltrace.integrations.openai.pricing import estimate_cost, set_model_price

__all__ = ["autolog", "estimate_cost", "set_model_price"]
