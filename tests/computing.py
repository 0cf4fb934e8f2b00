"""A thread of the application that computes: it runs Python without pause, so it gives the
GIL up only when forced to, at the end of a switch interval (the tests and bench_tracing.py
run the writer beside one)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def computing_thread(switch_interval: float | None = None) -> Iterator[None]:
    """Run the block beside a computing thread; ``switch_interval`` (seconds) replaces the
    interpreter's for the block."""
    interval = sys.getswitchinterval()
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)
    computing = [True]

    def compute() -> None:
        count = 0
        while computing[0]:
            count += 1

    thread = threading.Thread(target=compute, name="computing", daemon=True)
    thread.start()
    try:
        yield
    finally:
        computing[0] = False
        thread.join()
        sys.setswitchinterval(interval)
