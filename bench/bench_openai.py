"""Overhead of OpenAI autolog on a non-streamed chat call against the local test server.

Run: python bench/bench_openai.py
The server runs in a separate process (as a real API would), so it does not compete with the
application for the GIL. The baseline is the same call untraced (autolog disabled), measured
in the same run, alternating traced and untraced rounds. Figures: median over rounds of the
mean per call, for the caller thread's CPU time and for wall time.

Three regimes:
- short bursts (10 calls, ~15 ms, shorter than the writer's 50 ms linger) with the writer
  storing the traces in between (the benchmark prints in how many bursts it did not wait): the
  work autolog adds on the caller's thread, alone.
- steady calls against a server that takes 20 ms to answer (real APIs take longer), the writer
  storing traces at the same time, as in an application: caller CPU.
- a saturated loop: 300 calls back to back against a server that answers in a millisecond,
  the writer storing traces at the same time on the same two cores. The difference then also
  holds the writer's share of the machine, which is printed on its own as CPU per trace.

Then the whole cost of tracing, compared with a peer: the same saturated rounds, each timed
until its traces are handed on (``evaltrace.flush()``: stored in SQLite; for the peer,
``force_flush()``: exported), in wall time and in the CPU of the whole process (every thread),
rotating untraced, autolog, and the OpenInference OpenAI instrumentor exporting through an
OTLP/HTTP BatchSpanProcessor to a local sink that discards (the Phoenix setup).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable

sys.path.insert(0, __file__.rsplit("/", 2)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import tempfile
from pathlib import Path

import openai
from _common import fresh_sqlite_uri, median_us_per_call, report

import evaltrace
import evaltrace.openai
from evaltrace._session import get_session

MESSAGES = [{"role": "user", "content": "What is your refund policy?"}]


def main(runs: int = 15) -> None:
    from tests.server.live import running_server

    local = fresh_sqlite_uri()
    evaltrace.set_tracking_uri(local)
    _measure_span_code()
    servers = [_start_server(delay) for delay in (0.0, _STEADY_LATENCY_S)]
    servers.append(
        subprocess.Popen([sys.executable, "-c", _SINK], stdout=subprocess.PIPE, text=True)
    )
    try:
        instant, slow, sink = (server.stdout.readline().strip() for server in servers)  # type: ignore[union-attr]
        _measure(instant, runs)
        _measure_steady(slow, runs)
        spool = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
        with running_server(fresh_sqlite_uri(), spool / "server") as evaltrace_server:
            _measure_against_openinference(instant, sink, runs, local, evaltrace_server)
    finally:
        for server in servers:
            server.terminate()
            server.wait()


def _start_server(delay: float) -> subprocess.Popen[str]:
    command = [sys.executable, "-c", _SERVER, str(delay)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)


_SERVER = (  # argv[1]: seconds the server takes to answer
    "import sys, time\n"
    "from evaltrace.testing import OpenAIServer\n"
    "delay = float(sys.argv[1])\n"
    "with OpenAIServer(responder=lambda body: time.sleep(delay)) as server:\n"
    "    print(server.base_url, flush=True)\n"
    "    time.sleep(3600)\n"
)
_STEADY_LATENCY_S = 0.02

_SINK = (  # an OTLP/HTTP endpoint that reads each request and discards it
    "from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer\n"
    "class Sink(BaseHTTPRequestHandler):\n"
    "    protocol_version = 'HTTP/1.1'\n"
    "    def do_POST(self):\n"
    "        self.rfile.read(int(self.headers.get('Content-Length', 0)))\n"
    "        self.send_response(200)\n"
    "        self.send_header('Content-Type', 'application/x-protobuf')\n"
    "        self.send_header('Content-Length', '0')\n"
    "        self.end_headers()\n"
    "    def log_message(self, *args):\n"
    "        pass\n"
    "server = ThreadingHTTPServer(('127.0.0.1', 0), Sink)\n"
    "print(f'http://127.0.0.1:{server.server_port}/v1/traces', flush=True)\n"
    "server.serve_forever()\n"
)


def _measure_span_code() -> None:
    """Autolog's own work on the caller's thread (no HTTP), against a bare OTel span."""
    from openai.types.chat import ChatCompletion
    from opentelemetry.sdk.trace import TracerProvider

    from evaltrace.integrations.openai.call_span import CallSpan
    from evaltrace.integrations.openai.extract import endpoint_for, to_plain

    response = ChatCompletion.model_validate(_RESPONSE)
    body = {"model": "gpt-4o-mini", "messages": MESSAGES}
    endpoint = endpoint_for("post", "/chat/completions")
    bare = TracerProvider().get_tracer("bench")

    def bare_span() -> None:
        bare.start_span("bare").end()

    def traced() -> None:
        call = CallSpan.start(endpoint, body, "http://127.0.0.1:1/v1/")
        call.succeed(to_plain(response))  # type: ignore[union-attr]

    baseline = median_us_per_call(bare_span, calls=2000, clock=time.thread_time_ns)
    report("bare OTel span (caller CPU, baseline)", baseline, "us/call")
    span_code = median_us_per_call(
        traced, calls=2000, clock=time.thread_time_ns, between_runs=evaltrace.flush
    )
    report("autolog span code alone, no HTTP (caller CPU)", span_code, "us/call", baseline)


_RESPONSE = {
    "id": "chatcmpl-bench",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "Refunds within 30 days."},
        }
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


Batch = Callable[[Callable[[], int], int], float]


def _batch(client: openai.OpenAI) -> Batch:
    def batch(clock: Callable[[], int], count: int) -> float:
        start = clock()
        for _ in range(count):
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        return (clock() - start) / count / 1000

    batch(time.perf_counter_ns, 20)  # warm up the connection
    return batch


def _measure_steady(base_url: str, runs: int) -> None:
    """Calls back to back against a server that takes 20 ms (real APIs take longer), the writer
    storing traces meanwhile, as it does in an application. Caller CPU only: 20 ms of network
    jitter per call would drown a wall-time difference of tens of microseconds."""
    with openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0) as client:
        batch = _batch(client)
        _paired_rounds(batch, time.thread_time_ns, 50, runs, "steady, 20 ms server, caller CPU")


def _measure(base_url: str, runs: int) -> None:
    with openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0) as client:
        batch = _batch(client)
        for regime, count, rounds in (("bursts", 10, runs * 20), ("saturated", 300, runs)):
            for clock_name, clock in (
                ("caller CPU", time.thread_time_ns),
                ("wall", time.perf_counter_ns),
            ):
                _paired_rounds(batch, clock, count, rounds, f"{regime}, {clock_name}")
        _writer_cost(batch)


def _paired_rounds(
    batch: Batch,
    clock: Callable[[], int],
    count: int,
    rounds: int,
    label: str,
) -> None:
    plain, traced, overheads, rounds_with_writes = [], [], [], 0
    writer = get_session().pipeline().writer
    for _ in range(rounds):  # short alternating rounds: the machine drifts
        evaltrace.openai.autolog(disable=True)
        plain.append(batch(clock, count))
        evaltrace.openai.autolog()
        written = writer.written
        traced.append(batch(clock, count))
        rounds_with_writes += writer.written != written
        overheads.append(traced[-1] - plain[-1])
        evaltrace.flush()
    evaltrace.openai.autolog(disable=True)
    baseline = statistics.median(plain)
    report(f"chat call, untraced ({label}, baseline)", baseline, "us/call")
    report(f"chat call, autolog ({label})", statistics.median(traced), "us/call", baseline)
    report(
        f"  autolog overhead, median of paired rounds ({label})",
        statistics.median(overheads),
        "us/call",
    )
    print(f"  (the writer stored traces during {rounds_with_writes} of {rounds} traced rounds)")


def _writer_cost(batch: Batch) -> None:
    """CPU the background writer spends per trace (converting, redacting, inserting)."""
    evaltrace.openai.autolog()
    batch(time.perf_counter_ns, 10)
    evaltrace.flush()
    (writer,) = [t for t in threading.enumerate() if t.name == "evaltrace-writer"]
    writer_clock = time.pthread_getcpuclockid(writer.ident)  # type: ignore[arg-type]
    samples = []
    for _ in range(5):
        before = time.clock_gettime_ns(writer_clock)
        batch(time.perf_counter_ns, 300)
        evaltrace.flush()
        samples.append((time.clock_gettime_ns(writer_clock) - before) / 300 / 1000)
    evaltrace.openai.autolog(disable=True)
    report(
        "writer thread CPU per autolog trace (off the caller's thread)",
        statistics.median(samples),
        "us/trace",
    )


def _measure_against_openinference(
    base_url: str, sink: str, runs: int, local_uri: str, server_uri: str
) -> None:
    from openinference.instrumentation.openai import OpenAIInstrumentor
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=sink)))
    instrumentor = OpenAIInstrumentor()
    arms: dict[str, tuple[Callable[[], object], Callable[[], object], Callable[[], object]]] = {
        # name: (switch on, switch off, hand the round's traces on)
        "untraced": (lambda: None, lambda: None, lambda: None),
        "autolog": (
            evaltrace.openai.autolog,
            lambda: evaltrace.openai.autolog(disable=True),
            evaltrace.flush,
        ),
        # The same, the traces sent to `evaltrace server` (another process) over http://.
        "autolog to a server": (
            lambda: (evaltrace.set_tracking_uri(server_uri), evaltrace.openai.autolog()),
            lambda: (
                evaltrace.openai.autolog(disable=True),
                evaltrace.set_tracking_uri(local_uri),
            ),
            evaltrace.flush,
        ),
        "OpenInference + OTLP": (
            lambda: instrumentor.instrument(tracer_provider=provider),
            instrumentor.uninstrument,
            provider.force_flush,
        ),
    }
    clocks = {"wall": time.perf_counter_ns, "process CPU": time.process_time_ns}
    samples: dict[tuple[str, str], list[float]] = {(a, c): [] for a in arms for c in clocks}
    count = 300
    with openai.OpenAI(base_url=base_url, api_key="bench", max_retries=0) as client:
        _batch(client)  # warm the connection
        for _ in range(runs):  # rotating arms, round by round: the machine drifts
            for arm, (switch_on, switch_off, hand_on) in arms.items():
                switch_on()
                client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                hand_on()
                starts = {name: clock() for name, clock in clocks.items()}
                for _ in range(count):
                    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
                hand_on()
                for name, clock in clocks.items():
                    samples[arm, name].append((clock() - starts[name]) / count / 1000)
                switch_off()
    provider.shutdown()
    for name in clocks:
        baseline = statistics.median(samples["untraced", name])
        report(f"saturated until handed on, untraced ({name}, baseline)", baseline, "us/call")
        for arm in ("autolog", "autolog to a server", "OpenInference + OTLP"):
            cost = statistics.median(samples[arm, name])
            report(f"  {arm} ({name})", cost, "us/call", baseline)
            report(f"    overhead over untraced ({name})", cost - baseline, "us/call")


if __name__ == "__main__":
    main()
