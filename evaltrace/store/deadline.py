"""Deadlines for store calls that the database driver cannot time out itself.

A PostgreSQL server that stops answering (SIGSTOPped, a frozen VM, a network path that drops
packets without a reset) leaves libpq waiting on its socket for ever: ``connect_timeout``
bounds connecting only, ``statement_timeout`` is enforced by the server that is not answering,
and TCP keepalives are answered by the host's kernel. So every call runs under a deadline kept
by one watchdog thread: when it passes, the connection's socket is shut down, the blocked call
fails at once with the driver's "connection lost" error, and the store reports
``StoreUnavailableError`` (the writer spools; a reader gets a typed error in bounded time).
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["Deadline", "watch_socket"]


@dataclass(order=True)
class Deadline:
    at: float
    number: int
    fd: int = field(compare=False)
    armed: bool = field(default=True, compare=False)
    expired: bool = field(default=False, compare=False)


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._heap: list[Deadline] = []
        self._numbers = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float, fd: int) -> Deadline:
        deadline = Deadline(time.monotonic() + seconds, next(self._numbers), fd)
        with self._lock:
            heapq.heappush(self._heap, deadline)
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._thread = threading.Thread(
                    target=self._run, name="evaltrace-store-deadlines", daemon=True
                )
                self._thread.start()
            if self._heap[0] is deadline:
                self._lock.notify()
        return deadline

    def disarm(self, deadline: Deadline) -> None:
        with self._lock:  # never while the watchdog cuts it: a cut is all or nothing
            deadline.armed = False

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and not self._heap[0].armed:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._lock.wait()
                    continue
                wait = self._heap[0].at - time.monotonic()
                if wait > 0:
                    self._lock.wait(wait)
                    continue
                deadline = heapq.heappop(self._heap)
                deadline.armed = False
                deadline.expired = True
                _cut(deadline.fd)


def _cut(fd: int) -> None:
    """Shut the socket down (the blocked call sees the connection end); the driver still owns
    the descriptor and closes it."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()  # the descriptor stays the driver's


_watchdog = _Watchdog()


@contextmanager
def watch_socket(fd: int | None, seconds: float) -> Iterator[Deadline | None]:
    """Cut the connection on ``fd`` if the block takes longer than ``seconds`` (0: never)."""
    if fd is None or fd < 0 or seconds <= 0:
        yield None
        return
    deadline = _watchdog.arm(seconds, fd)
    try:
        yield deadline
    finally:
        _watchdog.disarm(deadline)


def _after_fork_in_child() -> None:
    global _watchdog
    _watchdog = _Watchdog()  # the parent's thread does not exist here; its lock may be held


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
