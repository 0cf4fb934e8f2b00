"""Production monitoring speed, on SQLite and PostgreSQL.

1. Scoring throughput: one monitor worker judging traces with a code scorer, traces per
   second (read from the change feed, claimed, judged, finished with their Feedback). Baseline
   in the same run: writing the same traces to the store (what the app's writer does), in
   traces per second.
2. Lag under load: the app traces a steady 200 traces/s for ``--seconds`` while the worker
   runs beside it (its own thread, its own store connection); the lag (age of the oldest trace
   not yet judged, as ``evaltrace monitor status`` reports it) sampled every 0.25 s.

Run: python bench/bench_monitor.py [--traces 2000] [--runs 3] [--seconds 10] [--only sqlite]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 2)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, report

import evaltrace
from evaltrace._session import Session, install_session
from evaltrace.monitoring import MonitorWorker
from evaltrace.scorers import scorer
from tests.store.test_sql_store import make_trace


@scorer
def answer_length(outputs: object) -> int:
    return len(str(outputs))


def judged_per_second(uri: str, traces: int, offset: int) -> tuple[float, float]:
    """(traces judged per second, traces written per second) for a fresh batch."""
    install_session(Session(tracking_uri=uri))
    store = evaltrace._session.get_session().store()
    experiment = evaltrace._session.get_session().experiment_id()
    answer_length.register(name="length").start()
    now = int(time.time() * 1000)
    batch = [make_trace(offset + i, request_time=now) for i in range(traces)]
    started = time.perf_counter()
    for start in range(0, traces, 200):
        store.write_traces(batch[start : start + 200])
    written = traces / (time.perf_counter() - started)
    worker = MonitorWorker(store, concurrency=4, batch_size=128)
    started = time.perf_counter()
    worker.run(threading.Event(), once=True)
    elapsed = time.perf_counter() - started
    assert worker.totals.judged == traces, worker.totals
    assert len(store.monitors.outcomes(experiment)) >= traces
    return traces / elapsed, written


@evaltrace.trace
def handle(i: int) -> str:
    return f"answer {i}"


def lag_under_load(uri: str, seconds: float, rate: float) -> tuple[float, float, float]:
    """(median lag s, max lag s, traces judged / s) while the app traces ``rate`` a second."""
    install_session(Session(tracking_uri=uri))
    answer_length.register(name="length").start()
    worker_session = Session(tracking_uri=uri)  # the worker's own store connection
    worker = MonitorWorker(worker_session.store(), concurrency=4, batch_size=128)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"poll_seconds": 0.1})
    thread.start()
    lags: list[float] = []
    monitors = evaltrace._session.get_session().store().monitors
    experiment = evaltrace._session.get_session().experiment_id()
    started = time.perf_counter()
    sent = 0
    next_sample = started
    while (elapsed := time.perf_counter() - started) < seconds:
        while sent < elapsed * rate:
            handle(sent)
            sent += 1
        if time.perf_counter() >= next_sample and elapsed > 1.0:  # after the first second
            lags.append(monitors.status(experiment)[0].lag_seconds)
            next_sample += 0.25
        time.sleep(0.002)
    evaltrace.flush(timeout=30)
    deadline = time.perf_counter() + 60
    while worker.totals.judged < sent and time.perf_counter() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join()
    worker_session.close()
    judged_rate = worker.totals.judged / (time.perf_counter() - started)
    return statistics.median(lags), max(lags), judged_rate


def run(
    kind: str, make_uri: contextlib.AbstractContextManager[str] | None, args: argparse.Namespace
) -> None:
    throughput, writes = [], []
    for round_ in range(args.runs):
        uri = fresh_sqlite_uri() if make_uri is None else _fresh_pg(args.pg_url, round_)
        judged, written = judged_per_second(uri, args.traces, round_ * 10 * args.traces)
        throughput.append(judged)
        writes.append(written)
    baseline = statistics.median(writes)
    report(f"{kind}: traces written by the app's store path (baseline)", baseline, "traces/s")
    report(
        f"{kind}: traces judged by one worker (code scorer)",
        statistics.median(throughput),
        "traces/s",
        baseline,
    )
    uri = fresh_sqlite_uri() if make_uri is None else _fresh_pg(args.pg_url, 99)
    median_lag, max_lag, rate = lag_under_load(uri, args.seconds, 200.0)
    report(f"{kind}: lag at 200 traces/s, median", median_lag * 1000, "ms")
    report(f"{kind}: lag at 200 traces/s, max", max_lag * 1000, "ms")
    report(f"{kind}: judged during the load test", rate, "traces/s")


def _fresh_pg(server_url: str, n: int) -> str:
    from sqlalchemy import create_engine, text

    name = f"bench_monitor_{n}_{int(time.time() * 1000)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default=None)
    args = parser.parse_args()
    if args.only != "postgresql":
        run("sqlite", None, args)
    if args.only != "sqlite":
        from tests.postgres import find_pg_bin, postgres_server

        bin_dir = find_pg_bin()
        if bin_dir is None:
            print("postgresql: not installed, skipped")
            return
        with postgres_server(bin_dir) as url:
            args.pg_url = url
            run("postgresql", contextlib.nullcontext(url), args)


if __name__ == "__main__":
    main()
