"""OTLP ingest speed: spans per second through ``POST /v1/traces`` into SQLite and PostgreSQL,
end to end (the server answers 200 only once the spans are committed), protobuf, 512 spans a
request, from the OpenTelemetry SDK's own encoder.

Run: python bench/bench_otlp.py [--requests 40] [--runs 5] [--only sqlite|postgresql]
                                [--otlp-workers N]  (the server's EVALTRACE_OTLP_WORKERS)

Baseline in the same run, interleaved with each round: the caller's side, the SDK encoding the
same spans into request bodies (what every exporting process pays). Each round sends fresh
traces (never the same ids twice), from one client and then from two at once.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, __file__.rsplit("/", 2)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import httpx
from _common import fresh_sqlite_uri, report
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.server.live import running_server

BATCH = 512
SPANS_PER_TRACE = 8


def make_spans(count: int) -> list[ReadableSpan]:
    """``count`` spans in traces of 8: a CHAIN root, tool calls and GenAI chat calls."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    for t in range(count // SPANS_PER_TRACE):
        with tracer.start_as_current_span("handle request") as root:
            root.set_attribute("openinference.span.kind", "CHAIN")
            root.set_attribute("input.value", f'{{"question": "order {t}?"}}')
            root.set_attribute("output.value", "It ships tomorrow.")
            for i in range(SPANS_PER_TRACE - 1):
                with tracer.start_as_current_span(f"step {i}") as span:
                    if i % 3 == 0:
                        span.set_attribute("gen_ai.operation.name", "chat")
                        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                        span.set_attribute("gen_ai.usage.input_tokens", 120)
                        span.set_attribute("gen_ai.usage.output_tokens", 30)
                    else:
                        span.set_attribute("gen_ai.operation.name", "execute_tool")
                        span.set_attribute("gen_ai.tool.name", "lookup")
                        span.set_attribute("gen_ai.tool.call.arguments", f'{{"id": {t}}}')
    provider.shutdown()
    return list(exporter.get_finished_spans())


def encode(spans: list[ReadableSpan]) -> list[bytes]:
    return [
        encode_spans(spans[i : i + BATCH]).SerializeToString() for i in range(0, len(spans), BATCH)
    ]


def send(base: str, bodies: list[bytes]) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        for body in bodies:
            response = client.post(
                "/v1/traces", content=body, headers={"content-type": "application/x-protobuf"}
            )
            assert response.status_code == 200, response.text


def send_together(base: str, bodies: list[bytes], clients: int) -> None:
    threads = [
        threading.Thread(target=send, args=(base, bodies[i::clients])) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run(kind: str, uri: str, requests: int, runs: int, workers: int | None) -> None:
    total = requests * BATCH
    rounds = [make_spans(total) for _ in range(2 * runs + 1)]  # fresh ids for every send
    env = {} if workers is None else {"EVALTRACE_OTLP_WORKERS": str(workers)}
    with running_server(uri, Path(fresh_sqlite_uri()[10:]).parent / "spool", **env) as base:
        send(base, encode(rounds.pop()))  # warm: experiment, connections, statements
        encoding, one, two = [], [], []
        for _ in range(runs):
            spans = rounds.pop()
            start = time.perf_counter()
            bodies = encode(spans)
            encoding.append(total / (time.perf_counter() - start))
            start = time.perf_counter()
            send(base, bodies)
            one.append(total / (time.perf_counter() - start))
            bodies = encode(rounds.pop())
            start = time.perf_counter()
            send_together(base, bodies, 2)
            two.append(total / (time.perf_counter() - start))
    baseline = statistics.median(encoding)
    report(f"{kind}: SDK encodes {BATCH}-span requests (caller's side)", baseline, "spans/s")
    report(
        f"{kind}: ingested and committed, one client", statistics.median(one), "spans/s", baseline
    )
    report(
        f"{kind}: ingested and committed, two clients", statistics.median(two), "spans/s", baseline
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    parser.add_argument("--otlp-workers", type=int, default=None)
    args = parser.parse_args()
    print(f"{args.requests} requests of {BATCH} spans a round, median of {args.runs} rounds")
    if args.only != "postgresql":
        run("sqlite", fresh_sqlite_uri(), args.requests, args.runs, args.otlp_workers)
    if args.only == "sqlite":
        return
    with contextlib.ExitStack() as stack:
        from tests.postgres import find_pg_bin, postgres_server

        bin_dir = find_pg_bin()
        if bin_dir is None:
            print("PostgreSQL not installed: skipped")
            return
        uri = stack.enter_context(postgres_server(bin_dir))
        run("postgresql", uri, args.requests, args.runs, args.otlp_workers)


if __name__ == "__main__":
    main()
