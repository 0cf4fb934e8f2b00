"""evaltrace server speed: the trace list, a 10,000-span trace, and a 100,000-trace export.

Run: python bench/bench_server.py [--traces 1000000] [--export 100000]

Each figure is the median of 7 runs next to a baseline measured in the same run:
- the list page and its API against the same ``search_traces`` call made in-process;
- page 1,000 against page 1;
- the 10,000-span outline against ``get_trace`` of that trace in-process (all spans, payloads);
- the browser's first paint of that trace (Chromium via Playwright, if /usr/bin/chromium);
- ``evaltrace traces export`` peak memory for 100,000 traces against 10,000 traces.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, __file__.rsplit("/", 2)[0])
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import httpx
from _common import fresh_sqlite_uri, report
from bench_search import make_traces, median_ms

import evaltrace
from evaltrace._session import Session, install_session
from evaltrace.entities import (
    Span,
    SpanStatus,
    SpanStatusCode,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from evaltrace.store.sql_store import SqlStore
from tests.server.live import ROOT, child_env, running_server

FILTER = "attributes.name = 'endpoint_7' AND tags.env = 'prod'"
PAGE = 50


def interleaved(
    baseline: Callable[[], object], client: httpx.Client, path: str, params: dict | None
) -> tuple[float, float, float, float]:
    """Baseline and request timed alternately (this VM's speed drifts within seconds): medians
    of the baseline, of the server's own time (its Server-Timing header), of the round trip,
    and of the per-pair ratio server time / baseline."""
    baseline()
    client.get(path, params=params).raise_for_status()
    base, server, seen, ratios = [], [], [], []
    for _ in range(15):
        start = time.perf_counter()
        baseline()
        base.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        response = client.get(path, params=params)
        seen.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        server.append(float(response.headers["server-timing"].split("dur=")[1]))
        ratios.append(server[-1] / base[-1])
    median = statistics.median
    return median(base), median(server), median(seen), median(ratios)


def big_trace(spans: int) -> Trace:
    """One trace of ``spans`` spans: a root, 100 agent steps, each with tool and LLM calls."""
    rng = random.Random(7)
    trace_id = f"tr-{rng.getrandbits(128):032x}"
    t0 = 1_750_000_000_000_000_000
    made = [_span(trace_id, "0" * 15 + "1", None, "agent", t0, t0 + 60 * 10**9)]
    parents = []
    for i in range(1, spans):
        span_id = f"{i + 1:016x}"
        if i <= 100:
            parent, name = made[0].span_id, f"step_{i}"
            parents.append(span_id)
        else:
            parent, name = parents[i % 100], rng.choice(["llm", "search", "parse"])
        start = t0 + i * 5_000_000
        made.append(
            _span(trace_id, span_id, parent, name, start, start + rng.randrange(10**6, 10**9))
        )
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id="0",
        request_time=t0 // 1_000_000,
        execution_duration=60_000,
        state=TraceState.OK,
    )
    return Trace(info=info, data=TraceData(spans=tuple(made)))


def _span(trace_id: str, span_id: str, parent: str | None, name: str, start: int, end: int) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=span_id,
        parent_id=parent,
        name=name,
        span_type="LLM" if name == "llm" else "CHAIN",
        start_time_ns=start,
        end_time_ns=end,
        status=SpanStatus(status_code=SpanStatusCode.OK),
        inputs={"messages": [{"role": "user", "content": "x" * 400}]},
        outputs={"text": "y" * 400},
        attributes={"model": "gpt-4o-mini"},
    )


def load(store: SqlStore, count: int) -> None:
    rng = random.Random(1)
    start = time.perf_counter()
    for batch in make_traces(rng, 0, count, 1, "0"):
        store.write_traces(batch)
    report(f"[{count:>9,} traces] loaded", count / (time.perf_counter() - start), "traces/s")
    store.analyze()


def list_page(base: str, uri: str, count: int) -> None:
    session = Session(tracking_uri=uri)
    install_session(session)

    def in_process() -> None:
        evaltrace.search_traces(
            experiment_ids=["0"],
            filter_string=FILTER,
            max_results=PAGE,
            return_type="list",
            include_spans=False,
        )

    client = httpx.Client(base_url=base, timeout=60)
    params = {"experiment_id": "0", "filter": FILTER, "max_results": PAGE}
    label = f"[{count:>9,} traces]"
    page = f"/experiments/0/traces?filter={FILTER}"
    for name, path, query in (
        ("GET /api/traces", "/api/traces", params),
        ("traces page", page, None),
    ):
        base, server, seen, ratio = interleaved(in_process, client, path, query)
        report(f"{label} search_traces, filter, {PAGE} (baseline)", base, "ms")
        report(f"{label} {name}, same: server time", server, "ms", base)
        report(f"{label} {name}, same: round trip", seen, "ms", base)
        print(f"{label} {name}: median of paired ratios server/baseline {ratio:.2f}x")

    tokens: dict[int, str | None] = {1: None}
    token = None
    for number in range(2, 1001):
        token = client.get(
            "/api/traces",
            params={"max_results": PAGE, "page_token": token} if token else {"max_results": PAGE},
        ).json()["next_page_token"]
        tokens[number] = token
    first = median_ms(
        lambda: client.get("/api/traces", params={"max_results": PAGE}).raise_for_status()
    )
    last = median_ms(
        lambda: client.get(
            "/api/traces", params={"max_results": PAGE, "page_token": tokens[1000]}
        ).raise_for_status()
    )
    report(f"{label} GET /api/traces page 1", first, "ms")
    report(f"{label} GET /api/traces page 1,000", last, "ms", first)
    client.close()
    install_session(None)
    session.close()


def big(base: str, store: SqlStore, spans: int) -> None:
    trace = big_trace(spans)
    store.write_traces([trace])
    trace_id = trace.info.trace_id
    client = httpx.Client(base_url=base, timeout=60)
    baseline = median_ms(lambda: store.get_trace(trace_id))
    label = f"[{spans:,}-span trace]"
    report(f"{label} get_trace in-process (baseline)", baseline, "ms")
    outline = median_ms(lambda: client.get(f"/api/traces/{trace_id}/outline").raise_for_status())
    report(f"{label} GET outline", outline, "ms", baseline)
    size = len(client.get(f"/api/traces/{trace_id}/outline").content)
    report(f"{label} outline size", size / 1024, "KiB")
    span = trace.data.spans[5000].span_id
    report(
        f"{label} GET one span's panel",
        median_ms(lambda: client.get(f"/traces/{trace_id}/spans/{span}").raise_for_status()),
        "ms",
        baseline,
    )
    client.close()
    if Path("/usr/bin/chromium").exists():
        paint(base, trace_id, spans)


def paint(base: str, trace_id: str, spans: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.server.browser import ARGS, CHROMIUM

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(f"{base}/experiments")  # warm: static files cached, connection open
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            page.goto(f"{base}/traces/{trace_id}")
            page.wait_for_selector(f".span-count:has-text('{spans} spans')")
            page.wait_for_selector(".span-row")
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => r()))")
            samples.append((time.perf_counter() - start) * 1000)
        label = f"[{spans:,}-span trace] browser:"
        report(f"{label} page open to tree painted", statistics.median(samples), "ms")
        # Rows are drawn as they scroll into view: the last span, scrolled to.
        start = time.perf_counter()
        page.evaluate("document.querySelector('.span-tree').scrollTop = 1e9")
        page.wait_for_selector(f".span-row[data-span-id='{spans:016x}']")
        report(f"{label} scroll to the last span", (time.perf_counter() - start) * 1000, "ms")
        browser.close()


def export_memory(uri: str, counts: list[int]) -> None:
    peaks = {}
    for count in counts:
        out = Path(tempfile.mkdtemp()) / "traces.jsonl"
        # Peak RSS of the export process itself (VmHWM: ru_maxrss would carry the parent's).
        script = (
            "import sys\n"
            "from evaltrace.cli import main\n"
            "try:\n    main()\n"
            "except SystemExit:\n    pass\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
            "print(int(hwm.split()[1]), file=sys.stderr)\n"
        )
        start = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                script,
                "traces",
                "export",
                "-e",
                f"export-{count}",
                "-o",
                str(out),
                "--tracking-uri",
                uri,
            ],
            env=child_env(out.parent / "spool"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        seconds = time.perf_counter() - start
        peaks[count] = int(done.stderr.strip().splitlines()[-1]) / 1024
        lines = sum(1 for _ in out.open())
        assert lines == count, (lines, count)
        report(f"[export {count:>7,} traces] time", seconds, "s")
        report(
            f"[export {count:>7,} traces] peak memory",
            peaks[count],
            "MiB",
            peaks[counts[0]] if count != counts[0] else None,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--traces", type=int, default=1_000_000)
    parser.add_argument("--spans", type=int, default=10_000)
    parser.add_argument("--export", type=int, default=100_000)
    args = parser.parse_args()
    uri = fresh_sqlite_uri()
    store = SqlStore(uri)
    load(store, args.traces)
    spool = Path(tempfile.mkdtemp()) / "spool"
    with running_server(uri, spool) as base:
        list_page(base, uri, args.traces)
        big(base, store, args.spans)
    rng = random.Random(2)
    counts = [args.export // 10, args.export]
    for count in counts:
        experiment = store.get_or_create_experiment(f"export-{count}").experiment_id
        for batch in make_traces(rng, 10**8 * (count % 7 + 1), count, 3, experiment):
            store.write_traces(batch)
    export_memory(uri, counts)
    store.close()


if __name__ == "__main__":
    main()
