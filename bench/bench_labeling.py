"""Labeling throughput: labels recorded per second through the API (claim the next item, then
label it), by one reviewer and by 50 reviewers in threads at once, on SQLite.

Run: python bench/bench_labeling.py [--items 2000]
Baseline in the same run: plain log_feedback calls per second (one assessment per call).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 2)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, report

import evaltrace
import evaltrace.labeling as labeling


@evaltrace.trace
def answer(i: int) -> str:
    return f"answer {i}"


def traced(count: int) -> list[str]:
    ids = []
    for i in range(count):
        answer(i)
        ids.append(evaltrace.get_last_active_trace_id())
    evaltrace.flush()
    return ids


def review(session: labeling.LabelingSession, reviewer: str, counter: list[int]) -> None:
    while (trace_id := session.claim_next(reviewer)) is not None:
        session.label(trace_id, reviewer=reviewer, values={"tone": "helpful"})
        counter.append(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    args = parser.parse_args()
    evaltrace.set_tracking_uri(fresh_sqlite_uri())
    labeling.create_label_schema(
        "tone", type="feedback", title="tone", input=labeling.InputCategorical(["helpful", "curt"])
    )
    ids = traced(args.items * 3)
    start = time.perf_counter()
    for trace_id in ids[: args.items]:
        evaltrace.log_feedback(trace_id=trace_id, name="plain", value=True)
    baseline = args.items / (time.perf_counter() - start)
    report("log_feedback, one reviewer (baseline)", baseline, "calls/s")

    one = labeling.create_labeling_session("one", label_schemas=["tone"])
    one.add_traces(ids[args.items : 2 * args.items])
    done: list[int] = []
    start = time.perf_counter()
    review(one, "solo", done)
    report(
        "claim_next + label, one reviewer",
        len(done) / (time.perf_counter() - start),
        "labels/s",
        baseline,
    )

    many = labeling.create_labeling_session("many", label_schemas=["tone"])
    many.add_traces(ids[2 * args.items :])
    done = []
    threads = [
        threading.Thread(target=review, args=(many, f"reviewer-{n}", done)) for n in range(50)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = len(done) / (time.perf_counter() - start)
    report("claim_next + label, 50 reviewers at once (threads)", rate, "labels/s", baseline)
    states = {item.state for item in many.items()}
    print(f"items labeled {len(done)} of {args.items}; states {sorted(states)}")


if __name__ == "__main__":
    main()
