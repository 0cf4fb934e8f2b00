"""Handing the GIL back to the application from a loop on a background thread of its process
(the trace writer converting a batch, the store building its rows).

``time.sleep(0)`` lets a thread that waits for the GIL run at once: the application's thread,
back from a network call, waits microseconds instead of a switch interval (5 ms). But when the
application is *computing*, it gives the GIL up only when forced to, at the end of a switch
interval, and every hand-back costs the loop that long: a loop handing back every few items
was left a few items every 5 ms and never caught up (in a trial, a writer beside a busy thread
stored none of 5,000 queued traces in a second). A hand-back that waited that long therefore
ends the hand-backs of the loop.
"""

from __future__ import annotations

import time

__all__ = ["GilCourtesy"]

# A hand-back that took this long found the application computing.
_APPLICATION_COMPUTING_S = 0.001


class GilCourtesy:
    """For one run of a loop: ``step()`` after each item hands the GIL back every ``every``
    items, until a hand-back finds the application computing."""

    __slots__ = ("_count", "_every", "_handing_back")

    def __init__(self, every: int) -> None:
        self._every = every
        self._count = 0
        self._handing_back = True

    @property
    def handing_back(self) -> bool:
        return self._handing_back

    def step(self) -> None:
        if not self._handing_back:
            return
        self._count += 1
        if self._count % self._every:
            return
        started = time.perf_counter()
        time.sleep(0)
        self._handing_back = time.perf_counter() - started < _APPLICATION_COMPUTING_S
