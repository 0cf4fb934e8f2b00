"""Waiting for a background thread in tests: poll a condition, bounded in time."""

from __future__ import annotations

import time
from collections.abc import Callable


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """True as soon as ``condition()`` holds; False if it still does not after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
