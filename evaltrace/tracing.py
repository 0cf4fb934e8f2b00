"""Turn tracing off and on for the whole process (the reference's ``mlflow.tracing``).

While it is off, ``@trace``, ``start_span`` and autolog run the application's code untraced at
the cost of one attribute read; traces already finished are still written.
"""

from __future__ import annotations

from evaltrace.tracer.spans import TRACING

__all__ = ["disable", "enable", "is_enabled"]


def disable() -> None:
    TRACING.on = False


def enable() -> None:
    TRACING.on = True


def is_enabled() -> bool:
    return TRACING.on
