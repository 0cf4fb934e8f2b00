"""An application process: ``python -m tests.monitoring.traffic URI FIRST COUNT`` traces
COUNT calls (inputs FIRST, FIRST+1, ...), then exits (its exit flush writes or spools them)."""

from __future__ import annotations

import sys

import evaltrace


@evaltrace.trace
def handle(i: int) -> str:
    return f"answer {i}"


def main(uri: str, first: int, count: int) -> None:
    evaltrace.set_tracking_uri(uri)
    for i in range(first, first + count):
        handle(i)
    print(evaltrace.flush(timeout=5), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
