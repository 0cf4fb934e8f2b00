"""OTLP requests converted in worker processes (evaltrace/otlp/workers.py), in-process Ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from evaltrace._session import Session
from evaltrace.otlp.ingest import Ingest
from evaltrace.otlp.workers import ConversionPool, prepare_request
from evaltrace.tracer.redact import MARKER
from tests.otlp.requests import new_trace_id, request, span
from tests.server.live import ROOT

PROTOBUF = "application/x-protobuf"


@pytest.fixture
def make_ingest(tmp_path: Path) -> Iterator[object]:
    made: list[tuple[Session, Ingest]] = []

    def make(workers: int, name: str, **settings: object) -> tuple[Session, Ingest]:
        session = Session(
            tracking_uri=f"sqlite:///{tmp_path / name}.db",
            spool_dir=str(tmp_path / "spool"),
            **settings,  # type: ignore[arg-type]
        )
        ingest = Ingest(session, workers=workers)
        made.append((session, ingest))
        return session, ingest

    yield make
    for session, ingest in made:
        ingest.close()
        session.close()


def _mixed_request(traces: int) -> tuple[bytes, list[bytes]]:
    """Traces of three spans under two resources (one naming an experiment), and a span with
    an invalid trace id in each resource."""
    trace_ids = [new_trace_id() for _ in range(traces)]
    resources = []
    for r, experiment in enumerate(("named-here", None)):
        spans = [span(b"\x00" * 16, os.urandom(8), f"invalid {r}")]
        for t, trace_id in enumerate(trace_ids[r::2]):
            root = span(trace_id, os.urandom(8), f"root {r}.{t}", n=t)
            spans.append(root)
            for c in range(2):
                spans.append(span(trace_id, os.urandom(8), f"child {c}", parent=root.span_id))
        resource = {"service.name": f"svc{r}"}
        if experiment:
            resource["evaltrace.experiment"] = experiment
        resources.extend(request(*spans, resource=resource).resource_spans)
    whole = request()
    del whole.resource_spans[:]
    whole.resource_spans.extend(resources)
    return whole.SerializeToString(), trace_ids


def _tr(trace_id: bytes) -> str:
    return "tr-" + trace_id.hex()


def test_a_request_split_across_workers_is_stored_as_if_converted_in_process(
    make_ingest,
) -> None:
    body, trace_ids = _mixed_request(800)
    assert make_ingest(2, "probe")[1].conversion.shares(len(body)) == 4
    stores = {}
    answers = {}
    for workers in (2, 0):
        session, ingest = make_ingest(workers, f"w{workers}")
        answers[workers] = ingest.handle(body, PROTOBUF, None, "from-the-header")
        stores[workers] = session
    assert answers[2].status == answers[0].status == 200
    assert (answers[2].accepted, answers[2].rejected) == (answers[0].accepted, 2) == (2400, 2)
    partial = ExportTraceServiceResponse.FromString(answers[2].body).partial_success
    assert partial.rejected_spans == 2
    assert partial.error_message.count("trace_id must be 16 bytes") == 2  # once, not per worker
    for trace_id in trace_ids:
        shown = []
        for session in stores.values():
            store = session.store()
            trace = store.get_trace(_tr(trace_id))
            experiment = store.get_experiment(trace.info.experiment_id).name
            shown.append(
                (
                    experiment,
                    trace.info.state,
                    trace.info.trace_metadata.get("service.name"),
                    sorted(
                        (s.name, s.parent_id is None, s.attributes.get("n"))
                        for s in trace.data.spans
                    ),
                )
            )
        assert shown[0] == shown[1]
        assert shown[0][0] in ("named-here", "from-the-header")


def test_the_shares_of_a_request_are_all_of_it_and_overlap_nowhere() -> None:
    body, trace_ids = _mixed_request(64)
    shares = [prepare_request(body, PROTOBUF, None, (index, 3)) for index in range(3)]
    taken = [trace.trace_id for share in shares for trace in share.traces]
    assert sorted(taken) == sorted(_tr(t) for t in trace_ids)  # each trace in exactly one
    assert all(share.traces for share in shares)
    assert [share.counts.rejected for share in shares] == [2, 0, 0]


def test_workers_redact_with_the_servers_settings_not_their_environment(make_ingest) -> None:
    session, ingest = make_ingest(1, "redacting", redact_keys="account_no")
    trace_id = new_trace_id()
    root = span(trace_id, os.urandom(8), "root", account_no="DE89 3704 0044")
    answer = ingest.handle(request(root).SerializeToString(), PROTOBUF)
    assert answer.status == 200
    stored = session.store().get_trace(_tr(trace_id)).data.spans[0]
    assert stored.attributes["account_no"] == MARKER


def test_a_worker_that_dies_costs_no_request(make_ingest) -> None:
    session, ingest = make_ingest(1, "dying")
    first = new_trace_id()
    assert (
        ingest.handle(request(span(first, os.urandom(8), "a")).SerializeToString(), PROTOBUF).status
        == 200
    )
    for pid in ingest.conversion.worker_pids():
        os.kill(pid, signal.SIGKILL)
    later = [new_trace_id(), new_trace_id()]
    for trace_id in later:  # the first after the death is converted in-process, then new workers
        body = request(span(trace_id, os.urandom(8), "b")).SerializeToString()
        assert ingest.handle(body, PROTOBUF).status == 200
    for trace_id in (first, *later):
        assert session.store().get_trace(_tr(trace_id)).data.spans[0].name in ("a", "b")
    assert ingest.conversion.worker_pids()  # a new pool took over


def test_a_closed_pool_converts_in_the_calling_thread() -> None:
    pool = ConversionPool(2, {})
    pool.close()
    trace_id = new_trace_id()
    shares = list(
        pool.prepare(
            request(span(trace_id, os.urandom(8), "a")).SerializeToString(), PROTOBUF, None
        )
    )
    assert [t.trace_id for share in shares for t in share.traces] == [_tr(trace_id)]
    assert pool.worker_pids() == []


def test_workers_end_when_the_server_process_is_killed(tmp_path: Path) -> None:
    script = (
        "import os, sys\n"
        "from evaltrace.otlp.workers import ConversionPool\n"
        "from tests.otlp.requests import new_trace_id, request, span\n"
        "pool = ConversionPool(2, {})\n"
        "spans = [span(new_trace_id(), os.urandom(8), 'a') for _ in range(2000)]\n"
        "body = request(*spans).SerializeToString()\n"
        "list(pool.prepare(body, 'application/x-protobuf', None))\n"
        "print(*pool.worker_pids(), flush=True)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 2
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_bad_experiment_in_any_share_writes_nothing_of_the_request(make_ingest) -> None:
    session, ingest = make_ingest(2, "bad-experiment")
    good = [new_trace_id() for _ in range(1000)]
    whole = request(*(span(t, os.urandom(8), "fine") for t in good))
    bad = request(
        span(new_trace_id(), os.urandom(8), "x"), resource={"evaltrace.experiment": "x" * 600}
    )
    whole.resource_spans.extend(bad.resource_spans)
    body = whole.SerializeToString()
    assert ingest.conversion.shares(len(body)) > 1
    answer = ingest.handle(body, PROTOBUF)
    assert answer.status == 400
    with session.store().db.read() as connection:  # type: ignore[attr-defined]
        assert connection.exec_driver_sql("SELECT count(*) FROM traces").scalar() == 0
