"""Formatting for the pages: times, durations, pretty JSON, chat messages, the metric chart.
Everything returns plain text or numbers: the templates escape it (autoescape is on)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any

__all__ = [
    "chart_points",
    "chat_messages",
    "duration",
    "ms_time",
    "pretty_json",
    "short",
]

_MAX_PRETTY_CHARS = 200_000  # a payload past this shows its start and says so


def ms_time(ms: int | None) -> str:
    if ms is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


def duration(ms: float | None) -> str:
    if ms is None:
        return "—"
    if ms == 0:
        return "< 1 ms"  # trace durations are whole milliseconds
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.0f} ms" if ms >= 10 else f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"


def usd(value: float | None) -> str:
    """A cost as a person reads it: cents to four places, sub-cent costs to three significant
    digits (``$0.0000213``, where four places said ``$0.0000``)."""
    if value is None:
        return ""
    if value == 0:
        return "$0"
    if abs(value) >= 0.01:
        return f"${value:,.4f}"
    places = 2 - math.floor(math.log10(abs(value)))
    return f"${value:.{places}f}"


def short(text: Any, limit: int = 120) -> str:
    value = "" if text is None else text if isinstance(text, str) else json.dumps(text, default=str)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def pretty_json(value: Any) -> str:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)
    if len(text) > _MAX_PRETTY_CHARS:
        return text[:_MAX_PRETTY_CHARS] + f"\n… [{len(text) - _MAX_PRETTY_CHARS} more characters]"
    return text


def chat_messages(inputs: Any, outputs: Any) -> list[dict[str, Any]]:
    """The conversation in a chat span: request ``messages`` then the response's message(s)
    (OpenAI chat shapes), each ``{role, content, tool_calls}``; [] when it is not a chat."""
    found: list[dict[str, Any]] = []
    if isinstance(inputs, dict) and isinstance(inputs.get("messages"), list):
        found.extend(_message(m) for m in inputs["messages"] if isinstance(m, dict))
    if isinstance(outputs, dict) and isinstance(outputs.get("choices"), list):
        for choice in outputs["choices"]:
            if isinstance(choice, dict) and isinstance(choice.get("message"), dict):
                found.append(_message(choice["message"]))
    return found


def _message(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, list):  # content parts
        content = "\n".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    calls = [
        {
            "name": str((call.get("function") or {}).get("name", "")),
            "arguments": str((call.get("function") or {}).get("arguments", "")),
        }
        for call in message.get("tool_calls") or ()
        if isinstance(call, dict)
    ]
    return {"role": str(message.get("role", "?")), "content": content, "tool_calls": calls}


def chart_points(
    values: Sequence[float], width: int = 320, height: int = 80, pad: int = 6
) -> list[tuple[float, float, float]]:
    """(x, y, value) of each value for an SVG line chart (y grows downwards)."""
    if not values:
        return []
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    return [
        (
            round(pad + i * step, 1),
            round(height - pad - (v - low) / span * (height - 2 * pad), 1),
            v,
        )
        for i, v in enumerate(values)
    ]


def score_bars(
    buckets: Sequence[dict[str, Any]], width: int = 480, height: int = 90, pad: int = 4
) -> list[dict[str, Any]]:
    """One bar per time bucket of a monitor's chart: x, width, y and height (SVG, y grows
    downwards) of its mean score, scaled to the largest mean (or 1, for 0-1 scores)."""
    if not buckets:
        return []
    top = max([1.0, *(b["mean"] for b in buckets if b["mean"] is not None)])
    step = (width - 2 * pad) / len(buckets)
    bars = []
    for i, bucket in enumerate(buckets):
        mean = bucket["mean"]
        if mean is None:  # errors only: a full bar in the error colour
            tall = float(height - 2 * pad) if bucket["errors"] else 0.0
        else:
            tall = max(mean, 0.0) / top * (height - 2 * pad)
        bars.append(
            {
                **bucket,
                "x": round(pad + i * step, 1),
                "width": round(max(step - 2, 1.0), 1),
                "y": round(height - pad - tall, 1),
                "height": round(max(tall, 1.0), 1),
            }
        )
    return bars
