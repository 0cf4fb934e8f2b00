"""The writer's cost of redaction: CPU the background writer spends per trace with redaction
off (the baseline), on, and on with a credential in every trace (the slow path: strings are
scanned only where the JSON text holds something that looks like one).

Run: python bench/bench_redaction.py   (figures go to the README's Performance section)

Redaction runs on the writer's thread, never the caller's: this is what it costs there. The
three settings alternate round by round in one process (these machines are noisy).
"""

from __future__ import annotations

import statistics
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, report

import evaltrace

TRACES = 300
ROUNDS = 7
SYSTEM = "You are a support assistant for a bank. Answer briefly and cite the policy. " * 6
QUESTION = "How do I reset the password of my online banking account? I tried twice. " * 3


@evaltrace.trace(span_type="CHAT_MODEL")
def answer(messages: list[dict], config: dict) -> dict:
    return {"role": "assistant", "content": "Open Settings, then Security, then Reset. " * 4}


def _messages(secret: bool) -> list[dict]:
    question = QUESTION + (" my key is sk-proj-abcdefghijklmnopqrstuvwx0123" if secret else "")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


def _config() -> dict:
    return {"model": "gpt-4o-mini", "temperature": 0.2, "session_id": "s-42", "max_tokens": 300}


def _writer_cpu_per_trace(redact: bool, secret: bool) -> float:
    evaltrace.configure(redact=redact)
    messages, config = _messages(secret), _config()
    (writer,) = [t for t in threading.enumerate() if t.name == "evaltrace-writer"]
    clock = time.pthread_getcpuclockid(writer.ident)  # type: ignore[arg-type]
    before = time.clock_gettime_ns(clock)
    for _ in range(TRACES):
        answer(messages, config)
    evaltrace.flush()
    return (time.clock_gettime_ns(clock) - before) / TRACES / 1000


def main() -> None:
    evaltrace.configure(tracking_uri=fresh_sqlite_uri())
    answer(_messages(False), _config())
    evaltrace.flush()  # the writer thread exists now
    cases = {"off": (False, False), "on": (True, False), "on, a secret in each": (True, True)}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(ROUNDS):
        for name, (redact, secret) in cases.items():
            samples[name].append(_writer_cpu_per_trace(redact, secret))
    baseline = statistics.median(samples["off"])
    report("writer CPU per trace, redaction off (baseline)", baseline, "us/trace")
    for name in ("on", "on, a secret in each"):
        report(
            f"writer CPU per trace, redaction {name}",
            statistics.median(samples[name]),
            "us/trace",
            baseline,
        )


if __name__ == "__main__":
    main()
