"""A clock the monitor tests move by hand, instead of sleeping against a timer."""

from __future__ import annotations

import time

from evaltrace._session import get_session


class ManualClock:
    """Epoch milliseconds that stand still until ``advance``; starts at the wall clock."""

    def __init__(self) -> None:
        self.ms = int(time.time() * 1000)

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


def manual_monitor_clock() -> ManualClock:
    """The test session's monitor store, on a clock of its own."""
    clock = ManualClock()
    get_session().store().monitors.clock = clock  # type: ignore[attr-defined]
    return clock
