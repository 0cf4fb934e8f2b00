"""evaluate() on 1,000 records with a trivial predict_fn and three code scorers.

Run: python bench/bench_evaluate.py
The whole call: traces written, 3,000 feedbacks logged, the run and its results stored.
Median of 3 runs, next to a baseline measured in the same run: calling predict_fn and the
three scorers directly in a loop, with nothing traced or stored.
"""

from __future__ import annotations

import statistics
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, report

import evaltrace
from evaltrace.scorers import contains_all, exact_match, scorer


def predict(question: str) -> str:
    return question.upper()


@scorer
def length(outputs: str) -> int:
    return len(outputs)


SCORERS = [exact_match, contains_all, length]
RECORDS = [
    {
        "inputs": {"question": f"question {i}"},
        "expectations": {"expected_response": f"QUESTION {i}", "must_mention": ["question"]},
    }
    for i in range(1000)
]


def main(runs: int = 3) -> None:
    def direct() -> None:
        for record in RECORDS:
            outputs = predict(**record["inputs"])
            for item in SCORERS:
                item.judge(
                    {
                        "inputs": record["inputs"],
                        "outputs": outputs,
                        "expectations": record["expectations"],
                        "trace": None,
                    }
                )

    baseline = statistics.median(_timed(direct) for _ in range(runs))
    report("predict_fn + 3 scorers on 1,000 records, untraced (baseline)", baseline, "ms")
    samples = []
    for _ in range(runs):
        evaltrace.set_tracking_uri(fresh_sqlite_uri())
        samples.append(
            _timed(lambda: evaltrace.evaluate(data=RECORDS, predict_fn=predict, scorers=SCORERS))
        )
    report(
        "evaluate(): 1,000 records, 3 scorers, all persisted",
        statistics.median(samples),
        "ms",
        baseline,
    )


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    main()
