"""Scorers with a time limit: a row's scorer calls run on a daemon thread of a small pool, and
a call that takes longer than the limit becomes that scorer's error on that row.

A hung call cannot be killed in Python: its thread is left to finish (a daemon, so it never
holds up the interpreter's exit, and told to do nothing more once it returns) and the pool
starts a fresh thread in its place, so the calls after it still run.
"""

from __future__ import annotations

import contextvars
import functools
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["DaemonPool", "TimedOut"]


class TimedOut(TimeoutError):
    """A scorer call that took longer than its limit."""


class DaemonPool:
    def __init__(self, threads: int) -> None:
        self._work_queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads = 0
        for _ in range(threads):
            self._add_thread()

    def _add_thread(self) -> None:
        self._threads += 1
        threading.Thread(
            target=self._work, name=f"evaltrace-scorer-{self._threads}", daemon=True
        ).start()

    def _work(self) -> None:
        while (job := self._work_queue.get()) is not None:
            job()

    def call_each(self, calls: list[Callable[[], Any]], timeout: float) -> list[Any]:
        """Each call's result (or the exception it raised, or ``TimedOut``), each within
        ``timeout`` seconds, run one after another in this context: one hand-over to the pool
        for all of them (a hand-over per call cost a third of evaluate()), resumed after the
        one that hung."""
        results: list[Any] = []
        while len(results) < len(calls):
            pending = calls[len(results) :]
            done: queue.SimpleQueue[Any] = queue.SimpleQueue()
            stop = threading.Event()
            job = functools.partial(_run_each, pending, done, stop)
            self._work_queue.put(functools.partial(contextvars.copy_context().run, job))
            for _ in pending:
                try:
                    results.append(done.get(timeout=timeout))
                except queue.Empty:
                    stop.set()
                    self._add_thread()  # the stuck one keeps its thread
                    results.append(TimedOut(f"took longer than {timeout:g} s"))
                    break
        return results

    def close(self) -> None:
        for _ in range(self._threads):
            self._work_queue.put(None)


def _run_each(
    calls: list[Callable[[], Any]], done: queue.SimpleQueue[Any], stop: threading.Event
) -> None:
    for call in calls:
        if stop.is_set():  # the caller gave up on an earlier call and moved on
            return
        try:
            done.put(call())
        except Exception as exc:
            done.put(exc)
