"""GilCourtesy: a background loop hands the GIL back to the application, unless it computes."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from evaltrace._gil import GilCourtesy


@pytest.fixture
def computing_thread() -> Iterator[None]:
    """A thread that runs Python without pause (it gives the GIL up only when forced to), with
    a 50 ms switch interval: a hand-back then waits that long, far past the 1 ms threshold."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.05)
    computing = [True]

    def compute() -> None:
        count = 0
        while computing[0]:
            count += 1

    thread = threading.Thread(target=compute, daemon=True)
    thread.start()
    try:
        yield
    finally:
        computing[0] = False
        thread.join()
        sys.setswitchinterval(interval)


def test_hand_backs_stop_once_one_finds_the_application_computing(
    computing_thread: None,
) -> None:
    courtesy = GilCourtesy(every=2)
    courtesy.step()
    assert courtesy.handing_back  # no hand-back yet
    courtesy.step()  # the first: it waits for the computing thread's switch interval
    assert not courtesy.handing_back
    for _ in range(10):  # and costs nothing more (no wait, no change)
        courtesy.step()
    assert not courtesy.handing_back


def test_hand_backs_go_on_when_no_thread_is_computing() -> None:
    # A hand-back with no thread waiting for the GIL returns at once; of five loops, at least
    # one is not held up by the machine itself past the threshold.
    kept_on = []
    for _ in range(5):
        courtesy = GilCourtesy(every=1)
        for _ in range(3):
            courtesy.step()
        kept_on.append(courtesy.handing_back)
    assert any(kept_on)
