"""``evaltrace.openai.autolog()``: trace every call made through the openai client."""

from evaltrace.integrations.openai import autolog, estimate_cost, set_model_price

__all__ = ["autolog", "estimate_cost", "set_model_price"]
