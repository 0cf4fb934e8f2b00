"""POST /v1/traces on the real server process, on SQLite and PostgreSQL: encodings, partial
success, traces arriving in parts, duplicates, errors, and what the answer promises."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from sqlalchemy import create_engine

import evaltrace
from evaltrace.entities import TraceState
from tests.otlp.requests import NS, PROTOBUF, new_trace_id, post, request, span
from tests.server.live import ROOT, child_env, free_port, running_server
from tests.waiting import eventually

pytestmark = pytest.mark.parametrize(
    "otlp_store", ["sqlite", "postgresql"], indirect=True, scope="module"
)


def stored(uri: str, trace_id: bytes) -> evaltrace.Trace:
    evaltrace.set_tracking_uri(uri)
    return evaltrace.get_trace("tr-" + trace_id.hex())


def test_a_protobuf_request_is_stored_and_answered_in_protobuf(
    otlp_server: str, otlp_store: str
) -> None:
    trace_id = new_trace_id()
    root, child = os.urandom(8), os.urandom(8)
    response = post(
        otlp_server,
        request(
            span(
                trace_id,
                root,
                "handle",
                **{"input.value": "hi", "openinference.span.kind": "CHAIN"},
            ),
            span(trace_id, child, "lookup", parent=root, start=1_700_000_000 * NS + 10),
            resource={"service.name": "checkout", "evaltrace.experiment": "otlp-proto"},
        ),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert not answer.HasField("partial_success")  # everything accepted
    trace = stored(otlp_store, trace_id)
    assert trace.info.state is TraceState.OK and trace.info.request_preview == "hi"
    assert trace.info.trace_metadata["service.name"] == "checkout"
    assert {s.name: s.parent_id for s in trace.data.spans} == {"handle": None, "lookup": root.hex()}
    assert evaltrace.get_experiment_by_name("otlp-proto").experiment_id == trace.info.experiment_id


def test_json_with_hex_ids_and_integer_enums_gzip(otlp_server: str, otlp_store: str) -> None:
    trace_id, span_id = new_trace_id(), os.urandom(8)
    body = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "js"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "manual"},
                        "spans": [
                            {
                                "traceId": trace_id.hex(),
                                "spanId": span_id.hex(),
                                "name": "root",
                                "kind": 2,
                                "startTimeUnixNano": str(1_700_000_000 * NS),
                                "endTimeUnixNano": 1_700_000_000 * NS + 5_000_000,
                                "attributes": [
                                    {"key": "count", "value": {"intValue": "3"}},
                                    {
                                        "key": "tags",
                                        "value": {"arrayValue": {"values": [{"stringValue": "a"}]}},
                                    },
                                ],
                                "status": {"code": 2, "message": "boom"},
                                "futureField": {"ignored": True},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    response = httpx.post(
        f"{otlp_server}/v1/traces",
        content=gzip.compress(json.dumps(body).encode()),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.json() == {}
    trace = stored(otlp_store, trace_id)
    (root,) = trace.data.spans
    assert trace.info.state is TraceState.ERROR and root.status.description == "boom"
    assert root.attributes["count"] == 3 and root.attributes["tags"] == ["a"]
    assert root.attributes["otel.scope.name"] == "manual"
    assert root.span_type == "UNKNOWN" and "evaltrace.translator" not in root.attributes
    assert trace.info.execution_duration == 5


def test_invalid_spans_are_rejected_and_the_rest_kept(otlp_server: str, otlp_store: str) -> None:
    trace_id = new_trace_id()
    good = span(trace_id, os.urandom(8), "good")
    bad_ids = span(b"\x00" * 16, os.urandom(8), "zero trace id")
    backwards = span(trace_id, os.urandom(8), "backwards", parent=good.span_id, duration=-5)
    response = post(otlp_server, request(good, bad_ids, backwards))
    assert response.status_code == 200
    partial = ExportTraceServiceResponse.FromString(response.content).partial_success
    assert partial.rejected_spans == 2
    assert "spans[1]: trace_id must be 16 bytes" in partial.error_message
    assert "spans[2]: the span ends before it starts" in partial.error_message
    assert [s.name for s in stored(otlp_store, trace_id).data.spans] == ["good"]


def test_a_trace_in_three_requests_out_of_order_and_resent(
    otlp_server: str, otlp_store: str
) -> None:
    """Grandchild first, root last, the middle one twice: one trace, each span once, in
    progress until its root arrives, then OK with the root's summary; usage summed over all."""
    trace_id = new_trace_id()
    root, child, grandchild = (os.urandom(8) for _ in range(3))
    start = 1_700_000_100 * NS
    usage = {
        "gen_ai.operation.name": "chat",
        "gen_ai.usage.input_tokens": 7,
        "gen_ai.usage.output_tokens": 3,
    }
    parts = [
        request(span(trace_id, grandchild, "llm", parent=child, start=start + 20, **usage)),
        request(span(trace_id, child, "step", parent=root, start=start + 10, **usage)),
        request(
            span(
                trace_id,
                root,
                "agent",
                start=start,
                duration=3 * NS,
                **{"input.value": "q", "openinference.span.kind": "AGENT"},
            )
        ),
    ]
    assert post(otlp_server, parts[0]).status_code == 200
    first = stored(otlp_store, trace_id)
    assert first.info.state is TraceState.IN_PROGRESS and len(first.data.spans) == 1
    for part in (parts[1], parts[1], parts[2], parts[2]):
        assert post(otlp_server, part).status_code == 200
    trace = stored(otlp_store, trace_id)
    assert sorted(s.name for s in trace.data.spans) == ["agent", "llm", "step"]
    assert trace.info.state is TraceState.OK
    assert trace.info.execution_duration == 3000 and trace.info.request_preview == "q"
    assert trace.info.token_usage == {"input_tokens": 14, "output_tokens": 6, "total_tokens": 20}
    evaltrace.set_tracking_uri(otlp_store)
    found = evaltrace.search_traces(
        experiment_ids=[trace.info.experiment_id],
        filter_string="attributes.name = 'agent'",
        return_type="list",
    )
    assert [t.info.trace_id for t in found] == [trace.info.trace_id]


def test_a_bad_experiment_name_is_a_400_status(otlp_server: str) -> None:
    response = post(
        otlp_server,
        request(span(new_trace_id(), os.urandom(8), "x")),
        headers={"x-evaltrace-experiment": "x" * 600},
    )
    assert response.status_code == 400  # was a 500 on PostgreSQL (the column is 500 wide)
    assert "longer than 500" in status_pb2.Status.FromString(response.content).message


def test_the_experiment_header_names_the_experiment(otlp_server: str, otlp_store: str) -> None:
    trace_id = new_trace_id()
    response = post(
        otlp_server,
        request(span(trace_id, os.urandom(8), "x")),
        headers={"x-evaltrace-experiment": "from-header"},
    )
    assert response.status_code == 200
    trace = stored(otlp_store, trace_id)
    assert evaltrace.get_experiment_by_name("from-header").experiment_id == trace.info.experiment_id


@pytest.mark.parametrize(
    ("content", "headers", "status", "says"),
    [
        (b"\xff\x00garbage", PROTOBUF, 400, "not an OTLP protobuf"),
        (b"{not json", {"content-type": "application/json"}, 400, "not JSON"),
        (b"[]", {"content-type": "application/json"}, 400, "an object with resourceSpans"),
        (b"not gzip", {**PROTOBUF, "content-encoding": "gzip"}, 400, "cannot be decompressed"),
        (b"x", {"content-type": "text/plain"}, 415, "Content-Type must be"),
        (
            gzip.compress(b"\x00" * (65 * 1024 * 1024)),
            {**PROTOBUF, "content-encoding": "gzip"},
            413,
            "inflates past",
        ),
    ],
    ids=["bad-protobuf", "bad-json", "json-array", "bad-gzip", "text", "gzip-bomb"],
)
def test_bad_bodies_get_a_status_saying_why(
    otlp_server: str, content: bytes, headers: dict[str, str], status: int, says: str
) -> None:
    response = httpx.post(f"{otlp_server}/v1/traces", content=content, headers=headers)
    assert response.status_code == status
    if response.headers["content-type"] == "application/json":
        message = response.json()["message"]
    else:
        message = status_pb2.Status.FromString(response.content).message
    assert says in message


def test_a_body_past_the_limit_is_413(otlp_server: str) -> None:
    response = httpx.post(
        f"{otlp_server}/v1/traces", content=b"\x00" * (11 * 1024 * 1024), headers=PROTOBUF
    )
    assert response.status_code == 413


def test_answered_200_means_stored_even_if_the_server_dies_right_after(
    otlp_store: str, tmp_path: Path
) -> None:
    """SIGKILL the server the moment it answers: what it accepted is in the store."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "evaltrace.cli", "server", "--port", str(port)],
        env=child_env(tmp_path / "spool", EVALTRACE_TRACKING_URI=otlp_store),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base)
        trace_ids = [new_trace_id() for _ in range(20)]
        for trace_id in trace_ids:
            spans = [span(trace_id, os.urandom(8), f"s{i}") for i in range(50)]
            assert post(base, request(*spans)).status_code == 200
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    for trace_id in trace_ids:
        assert len(stored(otlp_store, trace_id).data.spans) == 50


def test_a_full_queue_answers_429_and_nothing_is_lost(otlp_store: str, tmp_path: Path) -> None:
    """One request written at a time (EVALTRACE_OTLP_MAX_PENDING=1). While the test holds the
    store's write lock, six requests arrive together: one waits for the lock, the other five
    are answered 429 with Retry-After at once. Once the lock goes, the waiting one is stored;
    the refused ones are not (their exporters keep them and retry)."""
    with running_server(otlp_store, tmp_path / "spool", EVALTRACE_OTLP_MAX_PENDING="1") as base:
        # Warm the experiment lookup, so each request's only store access is its write.
        assert post(base, request(span(new_trace_id(), os.urandom(8), "warm"))).status_code == 200
        trace_ids = [new_trace_id() for _ in range(6)]
        answers: dict[bytes, httpx.Response] = {}
        with holding_the_store(otlp_store):
            senders = [
                threading.Thread(
                    target=lambda t=t: answers.update(
                        {t: post(base, request(span(t, os.urandom(8), "x")))}
                    )
                )
                for t in trace_ids
            ]
            for sender in senders:
                sender.start()
            assert eventually(lambda: len(answers) == 5, timeout=30)  # refusals come at once
        for sender in senders:
            sender.join(timeout=60)
        statuses = sorted(answer.status_code for answer in answers.values())
        assert statuses == [200, 429, 429, 429, 429, 429]
        for trace_id, answer in answers.items():
            if answer.status_code == 429:
                assert answer.headers["retry-after"] == "1"
                with pytest.raises(evaltrace.TraceNotFoundError):
                    stored(otlp_store, trace_id)
            else:
                assert len(stored(otlp_store, trace_id).data.spans) == 1


@contextmanager
def holding_the_store(uri: str) -> Iterator[None]:
    """The traces table locked by another connection: a write there waits until the end."""
    engine = create_engine(uri)
    with engine.connect() as connection:
        if uri.startswith("sqlite"):
            connection.exec_driver_sql("BEGIN EXCLUSIVE")
        else:
            connection.begin()
            connection.exec_driver_sql("LOCK TABLE traces IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            connection.rollback()
    engine.dispose()


def _wait_for(base: str) -> None:
    assert eventually(lambda: _healthy(base), timeout=60), "server did not start"


def _healthy(base: str) -> bool:
    try:
        return httpx.get(base + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_json_answers_partial_success_in_json(otlp_server: str) -> None:
    message = request(span(b"\x01" * 15, os.urandom(8), "short id"))
    body = json_format.MessageToDict(message)
    response = httpx.post(f"{otlp_server}/v1/traces", json=body)
    assert response.status_code == 200
    assert response.json()["partialSuccess"]["rejectedSpans"] == "1"


def test_a_big_request_converted_in_shares_is_stored_whole(
    otlp_server: str, otlp_store: str
) -> None:
    """Past the size of one share (otlp/workers.py): converted by the server's workers in
    shares, written in one transaction; every trace whole, with its tree and summary."""
    trace_ids = [new_trace_id() for _ in range(300)]
    spans = []
    for n, trace_id in enumerate(trace_ids):
        root = span(trace_id, os.urandom(8), f"root {n}")
        spans.append(root)
        for c in range(4):
            spans.append(
                span(trace_id, os.urandom(8), f"child {c}", parent=root.span_id, pad="x" * 40)
            )
    message = request(*spans)
    assert len(message.SerializeToString()) > 4 * 16 * 1024  # four shares on two workers
    response = post(otlp_server, message)
    assert response.status_code == 200, response.text
    assert (
        ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans == 0
    )
    for n in range(0, len(trace_ids), 37):
        trace = stored(otlp_store, trace_ids[n])
        assert trace.info.state is TraceState.OK
        root = trace.data.root_span
        assert root is not None and root.name == f"root {n}"
        assert sorted(s.name for s in trace.data.spans if s.parent_id == root.span_id) == [
            f"child {c}" for c in range(4)
        ]


def _json_span(trace_id: bytes, name: str, **fields: object) -> dict[str, object]:
    return {
        "traceId": trace_id.hex(),
        "spanId": os.urandom(8).hex(),
        "name": name,
        "startTimeUnixNano": str(1_700_000_000 * NS),
        "endTimeUnixNano": str(1_700_000_001 * NS),
        **fields,
    }


def _wrapped(*spans: dict[str, object]) -> dict[str, object]:
    return {"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}


def _malformed_bodies(t: bytes) -> dict[str, tuple[object, int, int, int]]:
    """Name -> (body, status, spans stored, spans rejected): 14 malformed OTLP JSON bodies."""
    one = _json_span(t, "one")
    return {
        "empty object": ({}, 200, 0, 0),
        "misspelt resourceSpans": (
            {"resourceSpanz": [{"scopeSpans": [{"spans": [one]}]}]},
            400,
            0,
            0,
        ),
        "misspelt scopeSpans": ({"resourceSpans": [{"scopeSpanz": [{"spans": [one]}]}]}, 400, 0, 0),
        "span for spans": ({"resourceSpans": [{"scopeSpans": [{"span": [one]}]}]}, 400, 0, 0),
        "pre-1.0 names": (
            {
                "resourceSpans": [
                    {
                        "instrumentationLibrarySpans": [
                            {"instrumentationLibrary": {"name": "old"}, "spans": [one]}
                        ]
                    }
                ]
            },
            200,
            1,
            0,
        ),
        "resourceSpans a string": ({"resourceSpans": "spans"}, 400, 0, 0),
        "a span that is a string": (_wrapped("span"), 200, 0, 1),
        "no ids": (_wrapped({"name": "anonymous"}), 200, 0, 1),
        "ids not hex": (_wrapped(_json_span(t, "x", traceId="zz" * 16)), 200, 0, 1),
        "short trace id": (_wrapped(_json_span(t, "x", traceId="ab" * 4)), 200, 0, 1),
        "a time that is not a number": (
            _wrapped(_json_span(t, "x", startTimeUnixNano="soon")),
            400,
            0,
            0,
        ),
        "an attribute value not an AnyValue": (
            _wrapped(_json_span(t, "x", attributes=[{"key": "k", "value": "v"}])),
            200,
            1,
            0,
        ),
        "one good one zero span id": (
            _wrapped(_json_span(t, "good"), _json_span(t, "bad", spanId="00" * 8)),
            200,
            1,
            1,
        ),
        "ends before it starts": (
            _wrapped(_json_span(t, "x", endTimeUnixNano=str(1_600_000_000 * NS))),
            200,
            0,
            1,
        ),
    }


@pytest.mark.parametrize("case", sorted(_malformed_bodies(b"\0" * 16)))
def test_a_malformed_json_body_is_a_400_or_a_partial_success_that_counts(
    otlp_server: str, otlp_store: str, case: str
) -> None:
    """Of 14 malformed bodies 5 got a 200 that neither stored their spans nor said so."""
    trace_id = new_trace_id()
    body, status, stored_spans, rejected = _malformed_bodies(trace_id)[case]
    response = httpx.post(f"{otlp_server}/v1/traces", json=body)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["message"]
    else:
        partial = response.json().get("partialSuccess", {})
        assert int(partial.get("rejectedSpans", 0)) == rejected, response.text
    evaltrace.set_tracking_uri(otlp_store)
    found = (
        evaltrace.search_traces(
            filter_string=f"trace.trace_id = 'tr-{trace_id.hex()}'", return_type="list"
        )
        if stored_spans
        else []
    )
    if stored_spans:
        assert len(found) == 1 and len(found[0].data.spans) == stored_spans
    else:
        with pytest.raises(evaltrace.TraceNotFoundError):
            stored(otlp_store, trace_id)
