"""Tracing to an ``evaltrace server`` over an ``http://`` tracking URI, against the embedded
writer (the database opened in the application's process), in the same run.

Run: python bench/bench_http.py [--runs 5] [--only sqlite|postgresql]

- ``@trace`` no-op calls in a tight loop, the server in another process: caller CPU and wall
  per call, as a ratio to a bare OpenTelemetry SDK span (the baseline), then the same with the
  embedded SQLite writer; alternating, medians of ``--runs``.
- 10,000 traces end to end until readable (flushed, then counted by search), through the
  server into SQLite and into PostgreSQL, next to the embedded writer into the same kind of
  store: traces/s and how many were lost.
- Ingest through the store API: traces of 20 spans sent by 4 threads of a client, spans/s
  stored by one server process.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

sys.path.insert(0, __file__.rsplit("/", 2)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, median_us_per_call, report

import evaltrace
from evaltrace._session import Session, install_session
from tests.server.live import running_server

CLOCKS = {"caller CPU": time.thread_time_ns, "wall": time.perf_counter_ns}


@contextlib.contextmanager
def server_over(uri: str) -> Iterator[str]:
    with running_server(uri, Path(tempfile.mkdtemp(prefix="evaltrace-bench-spool-"))) as url:
        yield url


def fresh_session(uri: str) -> Session:
    session = Session(tracking_uri=uri, spool_dir=tempfile.mkdtemp(prefix="evaltrace-bench-spool-"))
    install_session(session)
    return session


def bench_calls(server_url: str, runs: int) -> None:
    bare_tracer = TracerProvider().get_tracer("bench")

    def bare() -> None:
        with bare_tracer.start_as_current_span("noop"):
            pass

    @evaltrace.trace
    def noop(question: str, k: int = 3) -> str:
        return question

    def traced() -> None:
        noop("How do I reset my password?")

    for clock_name, clock in CLOCKS.items():
        figures: dict[str, list[float]] = {"bare": [], "http": [], "embedded": []}
        for _ in range(runs):  # alternating, so drift hits every kind alike
            figures["bare"].append(median_us_per_call(bare, calls=5_000, runs=1, clock=clock))
            for kind, uri in (("http", server_url), ("embedded", fresh_sqlite_uri())):
                session = fresh_session(uri)
                session.store().get_experiment_by_name("Default")  # connected before the clock
                figures[kind].append(median_us_per_call(traced, calls=5_000, runs=1, clock=clock))
                assert session.flush(timeout=120)
                session.close()
        baseline = statistics.median(figures["bare"])
        report(f"1 span: bare OTel ({clock_name}, baseline)", baseline, "us/call")
        report(
            f"1 span: @trace to a server ({clock_name})",
            statistics.median(figures["http"]),
            "us/call",
            baseline,
        )
        report(
            f"1 span: @trace, embedded SQLite ({clock_name})",
            statistics.median(figures["embedded"]),
            "us/call",
            baseline,
        )


def _end_to_end(uri: str, count: int) -> tuple[float, int]:
    session = fresh_session(uri)
    session.store().get_experiment_by_name("Default")

    @evaltrace.trace
    def handle(request_id: int) -> dict:
        return {"id": request_id, "ok": True}

    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(count):
        handle(i)
    assert session.flush(timeout=600)
    elapsed = time.perf_counter() - start
    cpu_us = (time.process_time() - cpu_start) / count * 1e6
    stored = 0
    token = None
    while True:
        page = evaltrace.search_traces(
            return_type="list", include_spans=False, max_results=1000, page_token=token
        )
        stored += len(page)
        token = page.token
        if not token:
            break
    session.close()
    return count / elapsed, count - stored, cpu_us


def bench_end_to_end(
    kind: str, store_uri: Callable[[], str], runs: int, count: int = 10_000
) -> None:
    http, embedded, lost = [], [], 0
    http_cpu, embedded_cpu = [], []
    for _ in range(runs):
        with server_over(store_uri()) as url:
            rate, missing, cpu = _end_to_end(url, count)
        http.append(rate)
        http_cpu.append(cpu)
        lost += missing
        rate, missing, cpu = _end_to_end(store_uri(), count)
        embedded.append(rate)
        embedded_cpu.append(cpu)
        lost += missing
    baseline = statistics.median(embedded)
    report(f"{count:,} traces into {kind}, embedded writer (baseline)", baseline, "traces/s")
    report(
        f"{count:,} traces into {kind} through the server",
        statistics.median(http),
        "traces/s",
        baseline,
    )
    cpu_baseline = statistics.median(embedded_cpu)
    report("  application process CPU a trace, embedded (baseline)", cpu_baseline, "us")
    report(
        "  application process CPU a trace, through the server",
        statistics.median(http_cpu),
        "us",
        cpu_baseline,
    )
    print(f"{'traces lost over every run':<58} {lost:10d}", flush=True)


def bench_ingest(kind: str, store_uri: Callable[[], str], runs: int, replicas: int = 1) -> None:
    template = _twenty_span_trace()
    rates = []
    for _ in range(runs):
        uri = store_uri()
        with contextlib.ExitStack() as servers:
            urls = [servers.enter_context(server_over(uri)) for _ in range(replicas)]
            sessions = [fresh_session(url) for url in urls]
            stores = [session.store() for session in sessions]
            experiment = stores[0].get_or_create_experiment("ingest").experiment_id
            batches = [[_copy(template, experiment) for _ in range(100)] for _ in range(40)]
            start = time.perf_counter()
            threads = [
                threading.Thread(
                    target=lambda part=part, store=stores[i % replicas]: [
                        store.write_traces(batch) for batch in part
                    ]
                )
                for i, part in enumerate(batches[i::4] for i in range(4))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - start
            rates.append(40 * 100 * len(template.data.spans) / elapsed)
            for session in sessions:
                session.close()
    processes = "1 server process" if replicas == 1 else f"{replicas} server replicas"
    report(
        f"store API ingest into {kind}, {processes}, 4 senders",
        statistics.median(rates),
        "spans/s",
    )


def _twenty_span_trace():  # type: ignore[no-untyped-def]
    session = fresh_session(fresh_sqlite_uri())

    @evaltrace.trace
    def step(i: int) -> int:
        return i

    @evaltrace.trace
    def handle(question: str) -> str:
        for i in range(19):
            step(i)
        return question

    handle("How do I reset my password?")
    session.flush()
    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    session.close()
    return trace


def _copy(trace, experiment_id: str):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from evaltrace.tracer.convert import format_trace_id
    from evaltrace.tracer.ids import TimeOrderedIdGenerator

    trace_id = format_trace_id(TimeOrderedIdGenerator().generate_trace_id())
    spans = [replace(span, trace_id=trace_id) for span in trace.data.spans]
    info = replace(trace.info, trace_id=trace_id, experiment_id=experiment_id)
    return replace(trace, info=info, data=replace(trace.data, spans=spans))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    if args.only != "postgresql":
        with server_over(fresh_sqlite_uri()) as url:
            bench_calls(url, args.runs)
        bench_end_to_end("SQLite", fresh_sqlite_uri, args.runs)
        bench_ingest("SQLite", fresh_sqlite_uri, args.runs)
    if args.only != "sqlite":
        from tests.postgres import find_pg_bin, postgres_server

        bin_dir = find_pg_bin()
        if bin_dir is None:
            print("postgresql: not installed, skipped")
            return
        with postgres_server(bin_dir) as server_url:
            from sqlalchemy import create_engine, text

            admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
            numbers = iter(range(1000))

            def fresh_database() -> str:
                name = f"bench_http_{next(numbers)}"
                with admin.connect() as connection:
                    connection.execute(text(f"CREATE DATABASE {name}"))
                return server_url.rsplit("/", 1)[0] + "/" + name

            bench_end_to_end("PostgreSQL", fresh_database, args.runs)
            bench_ingest("PostgreSQL", fresh_database, args.runs)
            bench_ingest("PostgreSQL", fresh_database, args.runs, replicas=2)
            admin.dispose()


if __name__ == "__main__":
    main()
