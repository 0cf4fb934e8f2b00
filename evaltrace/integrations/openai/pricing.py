"""Estimated cost of a call: US dollars per million tokens, by model. Users can extend it."""

from __future__ import annotations

import threading

__all__ = ["estimate_cost", "set_model_price"]

# (input, output) USD per 1M tokens, from OpenAI's public price list; a dated model name
# ("gpt-4o-2024-08-06") uses the price of its longest known prefix.
_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-3.5-turbo": (0.50, 1.50),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
    "text-embedding-ada-002": (0.10, 0.0),
}
_lock = threading.Lock()


def set_model_price(model: str, *, input_per_million: float, output_per_million: float) -> None:
    """Add or change a model's price (USD per million input / output tokens)."""
    from evaltrace.exceptions import InvalidArgumentError

    if not isinstance(model, str) or not model:
        raise InvalidArgumentError(f"model must be a non-empty string, got {model!r}")
    for name, price in (
        ("input_per_million", input_per_million),
        ("output_per_million", output_per_million),
    ):
        if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
            raise InvalidArgumentError(f"{name} must be a non-negative number, got {price!r}")
    with _lock:
        _PRICES[model] = (float(input_per_million), float(output_per_million))


def estimate_cost(
    model: str | None, input_tokens: int | None, output_tokens: int | None
) -> float | None:
    """The estimated cost in USD, or None for a model without a known price."""
    if not model:
        return None
    price = _PRICES.get(model)
    if price is None:
        prefixes = [name for name in _PRICES if model.startswith(name + "-")]
        if not prefixes:
            return None
        price = _PRICES[max(prefixes, key=len)]
    return ((input_tokens or 0) * price[0] + (output_tokens or 0) * price[1]) / 1_000_000
