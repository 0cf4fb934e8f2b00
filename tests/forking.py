"""Running test code in a forked child of the test process."""

from __future__ import annotations

import os
from collections.abc import Callable

import evaltrace


def traced_in_forked_child(work: Callable[[], object]) -> bool:
    """Fork; the child runs ``work`` and flushes its traces. True if the child's flush did."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            work()
            ok = evaltrace.flush(timeout=30)
            os.write(write, b"1" if ok else b"0")
        finally:
            os._exit(0)
    os.close(write)
    try:
        return os.read(read, 1) == b"1"
    finally:
        os.close(read)
        os.waitpid(pid, 0)
