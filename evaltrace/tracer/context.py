"""Carry the current trace into threads and executors.

asyncio tasks inherit the context on their own. Threads do not: wrap the callable so it runs
in a copy of the caller's context, and spans it opens become children of the caller's span::

    executor.submit(evaltrace.with_current_context(work), item)
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["with_current_context"]

R = TypeVar("R")


def with_current_context(fn: Callable[..., R]) -> Callable[..., R]:
    """``fn`` bound to a copy of the current context (taken now, used at every call)."""
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def run_in_context(*args: Any, **kwargs: Any) -> R:
        # A Context can be entered by one thread at a time; each call runs in its own copy.
        return captured.copy().run(fn, *args, **kwargs)

    return run_in_context
