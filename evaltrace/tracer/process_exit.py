"""Flush before the process ends, however it ends: normal exit, SIGTERM, multiprocessing.

- A normal exit runs ``atexit``.
- SIGTERM's default action skips ``atexit``: when the application has no handler of its own,
  ours flushes first, then ends the process as SIGTERM would. It is installed from the main
  thread, the first time a pipeline is made or a function is decorated there (a first traced
  call on a request thread must not leave the process without it).
- A multiprocessing worker started with fork leaves through ``os._exit()``, which skips
  ``atexit`` too: the flush is registered as one of multiprocessing's own finalizers.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from evaltrace._config import get_settings

__all__ = ["flush_at_exit", "on_fork_in_child", "on_runtime_created", "watch_sigterm"]

_EXIT_PRIORITY = 100  # multiprocessing finalizers: before its own (queues, pools)
_flush: Callable[[], None] = lambda: None  # noqa: E731  # set by tracer/pipeline.py
_atexit_registered = False


def flush_at_exit(flush: Callable[[], None]) -> None:
    """Name the function that flushes the active pipeline (tracer/pipeline.py does, once)."""
    global _flush
    _flush = flush


def on_runtime_created() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_run_flush)
        _atexit_registered = True
    watch_sigterm()
    _flush_when_worker_ends()


def on_fork_in_child() -> None:
    """In a freshly forked child: if multiprocessing forked it, flush as the worker ends.

    The finalizer cannot be registered yet (the worker's bootstrap clears the registry after
    the fork), so it is registered from multiprocessing's own after-fork hook, which runs later.
    """
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.register_after_fork(_run_flush, lambda _: _flush_when_worker_ends())


def watch_sigterm() -> None:
    """Install the SIGTERM flush if allowed, on the main thread, with no handler of the app's."""
    if (
        not get_settings().flush_on_sigterm
        or threading.current_thread() is not threading.main_thread()
    ):
        return
    try:
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _terminate_after_flush)
    except (ValueError, OSError, AttributeError):  # no signals here (embedded interpreters)
        pass


def _run_flush() -> None:
    _flush()


def _terminate_after_flush(signum: int, frame: Any) -> None:
    # A handler runs on the main thread between two bytecodes, maybe while that thread holds
    # one of the writer's locks (inside Event.set, say): flushing here could deadlock. Flush on
    # a thread of its own instead; a second SIGTERM meanwhile ends the process at once.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_flush_then_terminate, name="evaltrace-sigterm", daemon=True).start()


def _flush_then_terminate() -> None:
    try:
        _flush()
    finally:
        os.kill(os.getpid(), signal.SIGTERM)


def _flush_when_worker_ends() -> None:
    """In a multiprocessing child (any start method), flush as the process ends."""
    if "multiprocessing" not in sys.modules:
        return  # not started by multiprocessing: atexit will do
    import multiprocessing
    from multiprocessing import util

    if multiprocessing.parent_process() is not None:
        util.Finalize(None, _run_flush, exitpriority=_EXIT_PRIORITY)
