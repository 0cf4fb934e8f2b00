"""GilCourtesy: a background loop hands the GIL back to the application, unless it computes."""

from __future__ import annotations

from evaltrace._gil import GilCourtesy
from tests.computing import computing_thread


def test_hand_backs_stop_once_one_finds_the_application_computing() -> None:
    courtesy = GilCourtesy(every=2)
    # A 50 ms switch interval: a hand-back waits that long, far past the 1 ms threshold.
    with computing_thread(switch_interval=0.05):
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
