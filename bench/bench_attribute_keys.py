"""What OTLP ingest pays for span attributes keyed by foreign trace ids, in bare sqlite3.

Run: python bench/bench_attribute_keys.py [--rounds 4]

The same spans (8 per trace, 5 searchable attributes each, random OTLP trace ids) written in
20 transactions of 512 spans, into two layouts of the span_attributes table:
- before migration 0009: primary key (trace_id, span_id, key) and the (key, value) indexes, a
  foreign key to spans: every row lands at a random place of B-trees keyed by the random
  trace id;
- keyed by an increasing integer span key (span_pk, key), WITHOUT ROWID: rows append (the
  store's layout since migration 0009).
Baseline (same run, interleaved): the layout before 0009. Microseconds per span, median of the
rounds; the database grows from round to round, as a store does.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import report

SPANS = """CREATE TABLE spans (trace_id VARCHAR(64), span_id VARCHAR(16), parent_id VARCHAR(16),
  name VARCHAR(500) NOT NULL, span_type VARCHAR(100), status VARCHAR(10), status_message TEXT,
  start_time_ns BIGINT, end_time_ns BIGINT, duration_ns BIGINT, inputs TEXT, outputs TEXT,
  attributes TEXT, events TEXT, PRIMARY KEY (trace_id, span_id));
CREATE INDEX ix_spans_name ON spans(name);
CREATE INDEX ix_spans_type_duration ON spans(span_type, duration_ns);"""
TODAY = """CREATE TABLE span_attributes (trace_id VARCHAR(64), span_id VARCHAR(16),
  key VARCHAR(250), value_type VARCHAR(10) NOT NULL, value_text VARCHAR(500), value_num FLOAT,
  PRIMARY KEY (trace_id, span_id, key),
  FOREIGN KEY (trace_id, span_id) REFERENCES spans(trace_id, span_id) ON DELETE CASCADE);"""
SURROGATE = """CREATE TABLE span_attributes (span_pk INTEGER, key VARCHAR(250),
  value_type VARCHAR(10) NOT NULL, value_text VARCHAR(500), value_num FLOAT,
  PRIMARY KEY (span_pk, key)) WITHOUT ROWID;"""
INDEXES = """CREATE INDEX ix_kt ON span_attributes(key, value_text) WHERE value_text IS NOT NULL;
CREATE INDEX ix_kn ON span_attributes(key, value_num) WHERE value_num IS NOT NULL;"""
KEYS = (
    "openinference.span.kind",
    "gen_ai.operation.name",
    "gen_ai.request.model",
    "gen_ai.usage.input_tokens",
    "evaltrace.translator",
)
REQUESTS, SPANS_PER_REQUEST, SPANS_PER_TRACE = 20, 512, 8


class Layout:
    def __init__(self, surrogate: bool) -> None:
        self.surrogate = surrogate
        self.next_pk = 0
        path = os.path.join(tempfile.mkdtemp(prefix="evaltrace-bench-"), "attrs.db")
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(SPANS + (SURROGATE if surrogate else TODAY) + INDEXES)

    def round(self) -> float:
        """Microseconds per span to write one round of fresh spans."""
        spans, attributes = [], []
        for _ in range(REQUESTS * SPANS_PER_REQUEST // SPANS_PER_TRACE):
            trace_id = "tr-" + os.urandom(16).hex()
            for s in range(SPANS_PER_TRACE):
                span_id = os.urandom(8).hex()
                spans.append(
                    (
                        trace_id,
                        span_id,
                        None,
                        f"step {s}",
                        "CHAIN",
                        "OK",
                        None,
                        1,
                        2,
                        1,
                        '{"a": 1}',
                        '"x"',
                        '{"k": "v"}',
                        "[]",
                    )
                )
                self.next_pk += 1
                owner = (self.next_pk,) if self.surrogate else (trace_id, span_id)
                for key in KEYS:
                    number = "tokens" in key
                    attributes.append(
                        (
                            *owner,
                            key,
                            "num" if number else "str",
                            None if number else f"v-{key[-5:]}",
                            120.0 if number else None,
                        )
                    )
        marks = "?," * (len(attributes[0]) - 1) + "?"
        per = SPANS_PER_REQUEST
        start = time.perf_counter()
        for i in range(REQUESTS):
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                f"INSERT INTO spans VALUES ({'?,' * 13}?) ON CONFLICT DO NOTHING",
                spans[i * per : (i + 1) * per],
            )
            self.db.executemany(
                f"INSERT INTO span_attributes VALUES ({marks}) ON CONFLICT DO NOTHING",
                attributes[i * per * len(KEYS) : (i + 1) * per * len(KEYS)],
            )
            self.db.execute("COMMIT")
        return (time.perf_counter() - start) * 1e6 / len(spans)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    today, surrogate = Layout(surrogate=False), Layout(surrogate=True)
    today_us, surrogate_us = [], []
    for _ in range(args.rounds):  # interleaved: this VM's speed drifts
        today_us.append(today.round())
        surrogate_us.append(surrogate.round())
    baseline = statistics.median(today_us)
    print(f"{REQUESTS} transactions of {SPANS_PER_REQUEST} spans, {len(KEYS)} attributes each")
    report("today's layout: keyed by (trace_id, span_id, key) (baseline)", baseline, "µs/span")
    report(
        "keyed by an increasing span key (span_pk, key)",
        statistics.median(surrogate_us),
        "µs/span",
        baseline,
    )


if __name__ == "__main__":
    main()
