"""Flush when a ``multiprocessing`` worker ends.

A worker started with the fork method leaves through ``os._exit()``, which skips ``atexit``:
its queued traces would be lost. ``multiprocessing`` runs its own finalizers first, so the
flush is registered as one of them, in every worker process that traces.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["flush_when_forked_worker_ends", "flush_when_worker_ends"]

_EXIT_PRIORITY = 100  # before multiprocessing's own finalizers (queues, pools)


def flush_when_worker_ends(flush: Callable[[], None]) -> None:
    """In a multiprocessing child (any start method), run ``flush`` as the process ends."""
    if "multiprocessing" not in sys.modules:
        return  # not started by multiprocessing: nothing to import, atexit will do
    import multiprocessing
    from multiprocessing import util

    if multiprocessing.parent_process() is not None:
        util.Finalize(None, flush, exitpriority=_EXIT_PRIORITY)


def flush_when_forked_worker_ends(flush: Callable[[], None]) -> None:
    """Called in a freshly forked child: if multiprocessing forked it, flush as it ends.

    The finalizer cannot be registered yet (the worker's bootstrap clears the registry after
    the fork), so it is registered from multiprocessing's own after-fork hook, which runs later.
    """
    util = sys.modules.get("multiprocessing.util")
    if util is not None:
        util.register_after_fork(flush, lambda _: flush_when_worker_ends(flush))
