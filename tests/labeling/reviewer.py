"""A reviewer process: ``python -m tests.labeling.reviewer URI SESSION_ID NAME START_DIR``
claims and labels items until none is left, and prints the trace ids it labeled, one per
line. It starts claiming only once ``START_DIR/go`` exists (after writing
``START_DIR/ready-NAME``), so all reviewers start together however long each takes to boot."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import evaltrace
import evaltrace.labeling as labeling


def main(uri: str, session_id: str, reviewer: str, start_dir: str) -> None:
    evaltrace.set_tracking_uri(uri)
    session = labeling.get_labeling_session(session_id)
    start = Path(start_dir)
    (start / f"ready-{reviewer}").touch()
    deadline = time.monotonic() + 120
    while not (start / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    while (trace_id := session.claim_next(reviewer)) is not None:
        time.sleep(0.01)  # a person reads the item: claims held by several reviewers overlap
        session.label(trace_id, reviewer=reviewer, values={"tone": "helpful"})
        print(trace_id, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
