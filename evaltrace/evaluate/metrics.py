"""From judgments to numbers: per-record scores, run metrics, the results table."""

from __future__ import annotations

import numbers
from collections import Counter, defaultdict
from typing import Any

__all__ = ["metrics_of", "to_score"]

_YES = {"yes": 1.0, "no": 0.0}


def to_score(value: Any) -> float | None:
    """Numbers as they are, bool and yes/no as 1/0; other values are categories (None)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return _YES.get(value.strip().lower())
    return None


def metrics_of(per_row: list[dict[str, dict[str, Any]]], predict_errors: int) -> dict[str, float]:
    """``<name>/score`` (and ``<name>/mean``, the same number), ``<name>/error_count`` and
    ``<name>/count/<value>`` for categorical values, over every row's scores."""
    scores: dict[str, list[float]] = defaultdict(list)
    errors: Counter[str] = Counter()
    categories: dict[str, Counter[str]] = defaultdict(Counter)
    names: list[str] = []
    for row in per_row:
        for name, result in row.items():
            if name not in names:
                names.append(name)
            if result.get("error"):
                errors[name] += 1
            elif result.get("score") is not None:
                scores[name].append(result["score"])
            elif result.get("value") is not None:
                categories[name][str(result["value"])] += 1
    metrics: dict[str, float] = {}
    for name in names:
        if scores[name]:
            mean = sum(scores[name]) / len(scores[name])
            metrics[f"{name}/score"] = mean
            metrics[f"{name}/mean"] = mean
        metrics[f"{name}/error_count"] = errors[name]
        for value, count in sorted(categories[name].items()):
            metrics[f"{name}/count/{value}"] = count
    metrics["predict/error_count"] = predict_errors
    return metrics
