"""A reviewer process: ``python -m tests.labeling.reviewer URI SESSION_ID NAME`` claims and
labels items until none is left, and prints the trace ids it labeled, one per line."""

from __future__ import annotations

import sys

import evaltrace
import evaltrace.labeling as labeling


def main(uri: str, session_id: str, reviewer: str) -> None:
    evaltrace.set_tracking_uri(uri)
    session = labeling.get_labeling_session(session_id)
    while (trace_id := session.claim_next(reviewer)) is not None:
        session.label(trace_id, reviewer=reviewer, values={"tone": "helpful"})
        print(trace_id, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
