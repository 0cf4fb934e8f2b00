"""The HTTP store against servers that fail: down, hung, answering garbage, busy; and against a
real server process that stops and starts again mid-run."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import evaltrace
from evaltrace._session import get_session
from evaltrace.entities import Expectation, Feedback
from evaltrace.exceptions import InvalidArgumentError, StoreUnavailableError
from evaltrace.store import facets
from evaltrace.store.base import TraceStore
from evaltrace.store.http_api import CALLS
from evaltrace.store.http_store import HttpStore
from evaltrace.store.sql_store import SqlStore
from evaltrace.store.wire import decode, encode
from tests.server.live import free_port, running_server
from tests.waiting import eventually

_LOCAL_CALLS = {"set_timeout", "close", "after_fork_in_child", "merge_rows", "merge_row_shares"}
_FACETS = {
    "browse": facets.BrowseFacet,
    "datasets": facets.DatasetsFacet,
    "experiments": facets.ExperimentsFacet,
    "prompts": facets.PromptsFacet,
    "runs": facets.RunsFacet,
    "labeling": facets.LabelingFacet,
    "monitors": facets.MonitorsFacet,
}


def _methods(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if name[0] != "_"}


def test_the_route_table_is_the_store_interface_exactly() -> None:
    """Every call of the store and its facets has a route, and every route is such a call (on
    the SQL store the server makes it on): the HTTP store cannot drift from the interface."""
    expected = {m for m in TraceStore.__abstractmethods__ if m not in _LOCAL_CALLS}
    for facet, protocol in _FACETS.items():
        expected |= {f"{facet}.{method}" for method in _methods(protocol)}
    assert set(CALLS) == expected
    store = SqlStore("sqlite://")
    for call in CALLS.values():
        target = store if call.facet is None else getattr(store, call.facet)
        assert callable(getattr(target, call.method)), call.name


def test_the_wire_codec_round_trips_what_calls_carry() -> None:
    feedback = Feedback(name="q", value=0.5, trace_id="tr-1", rationale="ok")
    values: list[Any] = [
        [feedback, Expectation(name="e", value={"$": "not a tag"}, trace_id="tr-1")],
        {("tr-1", "scorer", 1): "done"},  # tuple keys (monitor outcomes)
        (1, "two", None),
        {"$tuple": "a user's key"},
    ]
    for value in values:
        assert decode(encode(value)) == value
    with pytest.raises(InvalidArgumentError, match="cannot be sent"):
        encode(object())
    for hostile in ({"$": "os.system", "v": {}}, {"$enum": "Nope", "v": 1}, {"$pairs": [[1]]}):
        with pytest.raises(InvalidArgumentError):
            decode(hostile)


class _Hostile(BaseHTTPRequestHandler):
    behaviour: Callable[[BaseHTTPRequestHandler], None]
    requests: list[str]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.requests.append(self.path)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        type(self).behaviour(self)


def _reply(status: int, body: bytes, content_type: str, **headers: str) -> Callable[..., None]:
    def behaviour(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        handler.send_header("content-length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    return behaviour


def _never_answer(handler: BaseHTTPRequestHandler) -> None:
    threading.Event().wait(30)


_BEHAVIOURS = {
    "garbage JSON": _reply(200, b"{not json", "application/json"),
    "an HTML 500 page": _reply(500, b"<html><h1>Internal Server Error</h1></html>", "text/html"),
    "a proxy's 502": _reply(502, b"Bad Gateway", "text/plain"),
    "busy (429)": _reply(429, b'{"message": "busy"}', "application/json", retry_after="0"),
    "no answer": _never_answer,
}


@pytest.fixture(params=sorted(_BEHAVIOURS))
def hostile(request: pytest.FixtureRequest) -> Iterator[tuple[str, str, list[str]]]:
    """(what the server does, its URL, the paths it was sent)."""
    handler = type("Handler", (_Hostile,), {"behaviour": _BEHAVIOURS[request.param]})
    handler.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield request.param, f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    server.shutdown()
    server.server_close()


def _within(seconds: float, work: Callable[[], Any]) -> Any:
    """``work()``'s result or exception, failing the test if it has not returned in time."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return outcome


def test_a_broken_server_is_a_typed_error_within_the_timeout(
    hostile: tuple[str, str, list[str]],
) -> None:
    behaviour, url, requests = hostile
    store = HttpStore(url, timeout=1.0)
    outcome = _within(20, lambda: store.get_trace("tr-1"))
    assert isinstance(outcome.get("error"), StoreUnavailableError), outcome
    assert url in str(outcome["error"])
    retried = behaviour in ("busy (429)", "a proxy's 502")
    assert (len(requests) > 1) is retried  # the server said "not now": sent again, with backoff
    # A call that may not be repeated is not sent again when its answer never came.
    before = len(requests)
    outcome = _within(20, lambda: store.delete_assessment("tr-1", "a-1"))
    assert isinstance(outcome.get("error"), StoreUnavailableError)
    assert (len(requests) - before > 1) is retried
    store.close()


@pytest.mark.allow_drops
def test_tracing_to_a_broken_server_never_reaches_the_app(
    hostile: tuple[str, str, list[str]],
) -> None:
    _, url, _ = hostile
    evaltrace.configure(tracking_uri=url, store_timeout=1.0)

    @evaltrace.trace
    def answer(i: int) -> int:
        return i

    assert _within(5, lambda: [answer(i) for i in range(20)])["result"] == list(range(20))
    writer = get_session().pipeline().writer
    assert eventually(lambda: writer.spilled == 20, timeout=30), evaltrace.export_status()
    assert writer.dropped == 0


def test_a_server_stopped_mid_run_gets_every_trace_once_it_is_back(tmp_path: Path) -> None:
    port = free_port()
    uri = f"sqlite:///{tmp_path / 'server.db'}"

    @evaltrace.trace
    def handle(i: int) -> int:
        return i

    with running_server(uri, tmp_path / "server-spool", port=port) as url:
        evaltrace.configure(tracking_uri=url, store_timeout=2.0)
        assert [handle(i) for i in range(20)] == list(range(20))
        assert evaltrace.flush(timeout=30)
    # The server is down: the app carries on, its traces wait in the spool.
    assert [handle(i) for i in range(20, 60)] == list(range(20, 60))
    writer = get_session().pipeline().writer
    assert eventually(lambda: writer.spilled == 40, timeout=60) and writer.dropped == 0
    with running_server(uri, tmp_path / "server-spool", port=port):
        assert evaltrace.flush(timeout=60)
        found = evaltrace.search_traces(return_type="list", max_results=1000)
        inputs = sorted(t.data.spans[0].inputs["i"] for t in found)
    assert inputs == list(range(60))  # each once
