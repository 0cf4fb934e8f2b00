"""Checks shared by the public APIs that take user data (annotations, dataset records)."""

from __future__ import annotations

import json
from typing import Any

from evaltrace.exceptions import InvalidArgumentError

__all__ = ["require_json"]


def require_json(value: Any, what: str) -> Any:
    """``value`` if it is JSON (str, number, bool, None, lists and dicts of them; no NaN)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"{what} must be a JSON value (str, number, bool, list, dict): {exc}"
        ) from None
    return value
