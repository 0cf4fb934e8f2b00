"""Caller-thread cost of tracing, end-to-end throughput to SQLite, and import time.

Run: python bench/bench_tracing.py   (figures go to the README's Performance section)

The baseline is a bare OpenTelemetry SDK span (start_as_current_span + end) measured in the
same process, because these machines are noisy. Each tracing figure is given twice:
- "caller CPU": CPU time of the calling thread only (time.thread_time), i.e. what @trace
  itself costs the application's thread;
- "wall": elapsed time per call in a tight loop, which also pays for the background writer's
  share of the GIL while it converts and stores the traces of that same loop.
Also: how long the writer takes to store queued traces while another thread of the
application computes, against the same with the application idle.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

sys.path.insert(0, __file__.rsplit("/", 2)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _common import fresh_sqlite_uri, median_us_per_call, report

import evaltrace
from evaltrace._session import get_session
from tests.computing import computing_thread

CLOCKS = {"caller CPU": time.thread_time_ns, "wall": time.perf_counter_ns}


def compare(
    label: str, bare: Callable[[], object], traced: Callable[[], object], calls: int, unit: str
) -> None:
    for clock_name, clock in CLOCKS.items():
        baseline = median_us_per_call(bare, calls=calls, clock=clock)
        report(f"{label}: bare OTel ({clock_name}, baseline)", baseline, unit)
        cost = median_us_per_call(traced, calls=calls, clock=clock, between_runs=evaltrace.flush)
        report(f"{label}: @trace ({clock_name})", cost, unit, baseline)


def bench_single_span(bare_tracer) -> None:
    def bare() -> None:
        with bare_tracer.start_as_current_span("noop"):
            pass

    @evaltrace.trace
    def noop(question: str, k: int = 3) -> str:
        return question

    compare("1 span", bare, lambda: noop("How do I reset my password?"), 5_000, "us/call")
    # A call whose trace sampling leaves out (EVALTRACE_TRACE_SAMPLING_RATIO=0): the price of
    # the draw and of making the left-out marker current.
    clock = CLOCKS["caller CPU"]
    baseline = median_us_per_call(bare, calls=5_000, clock=clock)
    evaltrace.configure(trace_sampling_ratio=0.0)
    try:
        cost = median_us_per_call(
            lambda: noop("How do I reset my password?"), calls=5_000, clock=clock
        )
    finally:
        evaltrace.configure(trace_sampling_ratio=1.0)
    report("1 span: @trace sampled out (caller CPU)", cost, "us/call", baseline)


def bench_nested(bare_tracer) -> None:
    def bare_nested(depth: int = 10) -> None:
        with bare_tracer.start_as_current_span("level"):
            if depth > 1:
                bare_nested(depth - 1)

    @evaltrace.trace
    def nested(depth: int = 10) -> int:
        return depth if depth <= 1 else nested(depth - 1)

    compare("10 nested spans", bare_nested, nested, 500, "us/trace")


class _Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _bare_batch_rate(count: int) -> float:
    """Spans/s through an OTel BatchSpanProcessor whose exporter discards them (the SDK's own
    queue and thread, no storage): the baseline of the end-to-end figure."""
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Discard(), max_queue_size=count))
    tracer = provider.get_tracer("bench")
    start = time.perf_counter()
    for i in range(count):
        with tracer.start_as_current_span("handle", attributes={"request_id": i}):
            pass
    provider.force_flush()
    elapsed = time.perf_counter() - start
    provider.shutdown()
    return count / elapsed


def bench_end_to_end(count: int = 10_000, runs: int = 5) -> None:
    rates, baselines = [], []
    for _ in range(runs):
        baselines.append(_bare_batch_rate(count))
        uri = fresh_sqlite_uri()
        evaltrace.set_tracking_uri(uri)
        get_session().store(uri)  # schema created before the clock starts

        @evaltrace.trace
        def handle(request_id: int) -> dict:
            return {"id": request_id, "ok": True}

        start = time.perf_counter()
        for i in range(count):
            handle(i)
        evaltrace.flush()
        elapsed = time.perf_counter() - start
        stored = len(evaltrace.search_traces(return_type="list", include_spans=False))
        assert stored == count, f"only {stored} of {count} traces stored"
        rates.append(count / elapsed)
    baseline = statistics.median(baselines)
    report(f"{count:,} bare OTel spans, BatchSpanProcessor, discarded (baseline)", baseline, "/s")
    report(
        f"{count:,} traces traced + flushed to SQLite, all stored",
        statistics.median(rates),
        "traces/s",
        baseline,
    )


def _store_queued(count: int, *, beside_computing_thread: bool) -> float:
    """Seconds to store ``count`` queued traces (the flush), the application's other thread
    computing meanwhile or not."""
    uri = fresh_sqlite_uri()
    evaltrace.set_tracking_uri(uri)
    get_session().store(uri)

    @evaltrace.trace
    def handle(request_id: int) -> dict:
        return {"id": request_id, "ok": True}

    for i in range(count):
        handle(i)
    with computing_thread() if beside_computing_thread else contextlib.nullcontext():
        start = time.perf_counter()
        stored = evaltrace.flush(timeout=60)
        elapsed = time.perf_counter() - start
    return elapsed if stored else float("inf")


def bench_beside_computing_thread(count: int = 5_000, runs: int = 5) -> None:
    """A thread of the application computing (pure Python) gives the GIL up only when forced
    to: how long the writer then takes to store a queue of traces, against the same flush with
    the application idle (the baseline)."""
    idle, busy = [], []
    for _ in range(runs):
        idle.append(_store_queued(count, beside_computing_thread=False))
        busy.append(_store_queued(count, beside_computing_thread=True))
    baseline = statistics.median(idle) * 1000
    report(f"{count:,} queued traces stored, application idle (baseline)", baseline, "ms")
    report(
        f"{count:,} queued traces stored beside a computing thread",
        statistics.median(busy) * 1000,
        "ms",
        baseline,
    )


def bench_import(runs: int = 7) -> None:
    def timed(code: str) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            samples.append((time.perf_counter() - start) * 1000)
        return statistics.median(samples)

    check = (
        "import sys, evaltrace; assert 'pandas' not in sys.modules and 'openai' not in sys.modules"
    )
    interpreter = timed("pass")
    total = timed(check)
    report("python -c 'pass' (baseline)", interpreter, "ms")
    report("import evaltrace (asserts no pandas/openai), minus baseline", total - interpreter, "ms")


def main() -> None:
    evaltrace.set_tracking_uri(fresh_sqlite_uri())
    bare_tracer = TracerProvider().get_tracer("bench")
    bench_single_span(bare_tracer)
    bench_nested(bare_tracer)
    bench_end_to_end()
    bench_beside_computing_thread()
    bench_import()


if __name__ == "__main__":
    main()
