"""Scorers the monitoring tests register by import path (the worker imports this module)."""

from __future__ import annotations

import os
import time
from typing import Any

from evaltrace.scorers import Scorer, scorer


@scorer
def answer_length(outputs: Any) -> int:
    return len(str(outputs))


@scorer
def slow_length(outputs: Any) -> int:
    """Takes MONITOR_TEST_DELAY seconds (a worker can be killed in the middle of a batch)."""
    time.sleep(float(os.environ.get("MONITOR_TEST_DELAY", "0")))
    return len(str(outputs))


@scorer
def broken(outputs: Any) -> int:
    raise RuntimeError("this scorer always fails")


class LongerThan(Scorer):
    """A Scorer subclass with a constructor argument."""

    def __init__(self, name: str = "longer_than", limit: int = 5) -> None:
        super().__init__(name=name)
        self.limit = limit

    def __call__(self, *, outputs: Any) -> bool:
        return len(str(outputs)) > self.limit


class RateLimited(Exception):
    status_code = 429


_SEEN: set[str] = set()


@scorer
def limited_once(inputs: Any) -> bool:
    """Rate limited the first time it sees each input, fine the second."""
    key = repr(inputs)
    if key not in _SEEN:
        _SEEN.add(key)
        raise RateLimited("429 Too Many Requests")
    return True
