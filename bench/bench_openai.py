"""Overhead of OpenAI autolog on a non-streamed chat call against the local test server.

Run: python bench/bench_openai.py
The baseline is the same call untraced (autolog disabled), measured in the same run,
alternating traced and untraced runs. Figures: median over runs of the mean per call, for the
caller thread's CPU time (the server runs in another thread) and for wall time.
"""

from __future__ import annotations

import statistics
import sys
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, report  # noqa: E402

import openai  # noqa: E402

import evaltrace  # noqa: E402
import evaltrace.openai  # noqa: E402
from evaltrace.testing import OpenAIServer  # noqa: E402

MESSAGES = [{"role": "user", "content": "What is your refund policy?"}]


def main(calls: int = 300, runs: int = 9) -> None:
    evaltrace.set_tracking_uri(fresh_sqlite_uri())
    with OpenAIServer() as server, openai.OpenAI(
        base_url=server.base_url, api_key="bench", max_retries=0
    ) as client:

        def batch(clock) -> float:
            start = clock()
            for _ in range(calls):
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            return (clock() - start) / calls / 1000

        for clock_name, clock in (("caller CPU", time.thread_time_ns), ("wall", time.perf_counter_ns)):
            plain, traced = [], []
            batch(clock)  # warm up connections
            for _ in range(runs):
                evaltrace.openai.autolog(disable=True)
                plain.append(batch(clock))
                evaltrace.openai.autolog()
                traced.append(batch(clock))
                evaltrace.flush()
            evaltrace.openai.autolog(disable=True)
            baseline, cost = statistics.median(plain), statistics.median(traced)
            report(f"chat call, untraced ({clock_name}, baseline)", baseline, "us/call")
            report(f"chat call, autolog ({clock_name})", cost, "us/call", baseline)
            report(f"  autolog overhead ({clock_name})", cost - baseline, "us/call")


if __name__ == "__main__":
    main()
