"""The store behind an ``http://`` / ``https://`` tracking URI: ``evaltrace server``'s JSON API.

Every call of the store and its facets is one POST to its route (store/http_api.py), its
arguments and answer in the wire codec (store/wire.py), on pooled ``httpx`` connections with a
timeout on each call. A call the server could not take (connection refused, 429, 502-504, a
timeout before an answer to a repeatable call) is sent again with backoff, honouring
``Retry-After``, within the call's timeout; then it fails with ``StoreUnavailableError`` (the
tracer spools its traces and replays them when the server answers). The server's typed errors
come back as the same classes, ``InvalidFilterError`` with its position.
"""

from __future__ import annotations

import gzip
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

from evaltrace import exceptions
from evaltrace._json import dumps_json_bytes, loads_json
from evaltrace._uris import without_password
from evaltrace.entities import Assessment, Experiment, Span, Trace, TraceInfo
from evaltrace.exceptions import (
    EvaltraceError,
    InvalidArgumentError,
    StoreError,
    StoreUnavailableError,
)
from evaltrace.search import Expr, OrderKey
from evaltrace.store.base import TracePage, TraceStore
from evaltrace.store.facets import (
    BrowseFacet,
    DatasetsFacet,
    ExperimentsFacet,
    LabelingFacet,
    MonitorsFacet,
    PromptsFacet,
    RunsFacet,
)
from evaltrace.store.http_api import CALLS, StoreCall, call_path
from evaltrace.store.wire import decode, encode

if TYPE_CHECKING:
    import httpx

    from evaltrace.store.trace_rows import TraceRows

__all__ = ["HttpStore"]

_GZIP_FROM_BYTES = 4096  # smaller bodies cost more to compress than to send
_RETRY_STATUSES = {429, 502, 503, 504}
_MAX_ATTEMPTS = 5
_FIRST_BACKOFF_S = 0.1
_MAX_RETRY_AFTER_S = 10.0


class HttpStore(TraceStore):
    """A store that is a server. Thread-safe (one pooled client for every thread)."""

    def __init__(self, uri: str, *, timeout: float, token: str | None = None) -> None:
        self.uri = uri.rstrip("/")
        self._shown = without_password(self.uri)
        self._token = token
        self._timeout = timeout
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None
        self.datasets = cast(DatasetsFacet, _RemoteFacet(self, "datasets"))
        self.experiments = cast(ExperimentsFacet, _RemoteFacet(self, "experiments"))
        self.prompts = cast(PromptsFacet, _RemoteFacet(self, "prompts"))
        self.runs = cast(RunsFacet, _RemoteFacet(self, "runs"))
        self.browse = cast(BrowseFacet, _RemoteFacet(self, "browse"))
        self.labeling = cast(LabelingFacet, _RemoteFacet(self, "labeling"))
        self.monitors = cast(MonitorsFacet, _RemoteFacet(self, "monitors"))

    # -- the connection ----------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        client = self._http
        if client is None:
            with self._lock:
                if self._http is None:
                    self._http = _new_client(self.uri, self._token, self._timeout)
                client = self._http
        return client

    def set_timeout(self, seconds: float) -> None:
        self._timeout = seconds
        with self._lock:
            if self._http is not None:
                self._http.timeout = _timeouts(seconds)

    def close(self) -> None:
        with self._lock:
            client, self._http = self._http, None
        if client is not None:
            client.close()

    def after_fork_in_child(self) -> None:
        self._http = None  # the parent's sockets stay the parent's

    # -- one call ----------------------------------------------------------------------------

    def call(self, name: str, /, *args: Any, **kwargs: Any) -> Any:
        """Make the store call ``name`` (``"write_traces"``, ``"datasets.merge"``) on the
        server; its answer, decoded."""
        call = CALLS[name]
        body = dumps_json_bytes({"args": encode(list(args)), "kwargs": encode(kwargs)})
        headers = {"content-type": "application/json"}
        if len(body) >= _GZIP_FROM_BYTES:
            body = gzip.compress(body, compresslevel=1)
            headers["content-encoding"] = "gzip"
        response = self._send(call, body, headers)
        return decode(_answer(response, self._shown)["result"])

    def _send(self, call: StoreCall, body: bytes, headers: dict[str, str]) -> httpx.Response:
        import httpx

        deadline = time.monotonic() + (self._timeout or 300.0)
        backoff = _FIRST_BACKOFF_S
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            wait: float | None = None
            try:
                response = self._client().post(call_path(call), content=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                problem = f"cannot connect to {self._shown}: {_reason(exc)}"
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem = f"{self._shown} did not answer {call.name}: {_reason(exc)}"
                if not call.repeatable:  # it may have been done: sending it again could repeat it
                    raise StoreUnavailableError(problem) from None
            else:
                if response.status_code not in _RETRY_STATUSES:
                    return response
                problem = f"{self._shown} answered {response.status_code} to {call.name}"
                wait = _retry_after(response)
            if attempt == _MAX_ATTEMPTS:
                break
            pause = wait if wait is not None else backoff * (0.5 + random.random())
            if time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
            backoff = min(backoff * 2, 2.0)
        raise StoreUnavailableError(problem)

    # -- the store's own calls ---------------------------------------------------------------

    def write_traces(self, traces: Sequence[Trace]) -> None:
        self.call("write_traces", list(traces))

    def stored_experiments(self, trace_ids: Sequence[str]) -> dict[str, str]:
        return cast(dict[str, str], self.call("stored_experiments", list(trace_ids)))

    def append_spans(self, spans: Sequence[Span]) -> None:
        self.call("append_spans", list(spans))

    def merge_traces(self, traces: Sequence[Trace]) -> None:
        self.call("merge_traces", list(traces))

    def merge_rows(self, traces: Sequence[TraceRows]) -> None:
        raise InvalidArgumentError("rows are made on the server: send traces (merge_traces)")

    def merge_row_shares(self, shares: Iterable[Sequence[TraceRows]]) -> None:
        raise InvalidArgumentError("rows are made on the server: send traces (merge_traces)")

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        self.call("set_trace_tag", trace_id, key, value)

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        self.call("delete_trace_tag", trace_id, key)

    def get_trace(self, trace_id: str) -> Trace:
        return cast(Trace, self.call("get_trace", trace_id))

    def get_traces(self, trace_ids: Sequence[str]) -> list[Trace]:
        return cast(list[Trace], self.call("get_traces", list(trace_ids)))

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        return cast(TraceInfo, self.call("get_trace_info", trace_id))

    def search_traces(
        self,
        experiment_ids: Sequence[str],
        *,
        filter: Expr | None = None,
        order_by: Sequence[OrderKey] = (),
        max_results: int,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> TracePage:
        return cast(
            TracePage,
            self.call(
                "search_traces",
                list(experiment_ids),
                filter=filter,
                order_by=tuple(order_by),
                max_results=max_results,
                page_token=page_token,
                include_spans=include_spans,
            ),
        )

    def log_assessments(self, assessments: Sequence[Assessment]) -> None:
        self.call("log_assessments", list(assessments))

    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        return cast(Assessment, self.call("get_assessment", trace_id, assessment_id))

    def supersede_assessment(self, old: Assessment, new: Assessment) -> None:
        self.call("supersede_assessment", old, new)

    def replace_assessment(self, assessment: Assessment) -> None:
        self.call("replace_assessment", assessment)

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        self.call("delete_assessment", trace_id, assessment_id)

    def assessment_history(self, trace_id: str, name: str) -> list[Assessment]:
        return cast(list[Assessment], self.call("assessment_history", trace_id, name))

    def get_or_create_experiment(self, name: str) -> Experiment:
        return cast(Experiment, self.call("get_or_create_experiment", name))

    def get_experiment(self, experiment_id: str) -> Experiment:
        return cast(Experiment, self.call("get_experiment", experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return cast("Experiment | None", self.call("get_experiment_by_name", name))

    def __repr__(self) -> str:
        return f"HttpStore({self._shown!r})"


class _RemoteFacet:
    """A facet of the server's store: each method the route table names, as a call."""

    def __init__(self, store: HttpStore, facet: str) -> None:
        self._store = store
        self._facet = facet

    def __getattr__(self, method: str) -> Callable[..., Any]:
        name = f"{self._facet}.{method}"
        if name not in CALLS:
            raise AttributeError(f"the {self._facet} facet has no call {method!r}")

        def remote(*args: Any, **kwargs: Any) -> Any:
            return self._store.call(name, *args, **kwargs)

        remote.__name__ = method
        return remote


# -- helpers ---------------------------------------------------------------------------------


def _timeouts(seconds: float) -> httpx.Timeout:
    import httpx

    if not seconds:
        return httpx.Timeout(None, connect=10.0)
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def _new_client(uri: str, token: str | None, timeout: float) -> httpx.Client:
    try:
        import httpx
    except ImportError:
        raise exceptions.MissingDependencyError(
            "an http:// tracking URI needs httpx: pip install httpx"
        ) from None
    from evaltrace._version import __version__

    headers = {"user-agent": f"evaltrace/{__version__}", "accept": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return httpx.Client(
        base_url=uri,
        headers=headers,
        timeout=_timeouts(timeout),
        limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
        follow_redirects=False,
    )


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER_S)
    return None


def _answer(response: httpx.Response, shown: str) -> dict[str, Any]:
    """The JSON body of a 2xx answer; the server's typed error for any other."""
    status = response.status_code
    try:
        body = loads_json(response.content)
    except (ValueError, UnicodeDecodeError):
        body = None
    if 200 <= status < 300 and isinstance(body, dict) and "result" in body:
        return body
    if status >= 300 and isinstance(body, dict) and isinstance(body.get("message"), str):
        raise _error(status, body)
    # Not the store API speaking (a proxy's page, a captive portal, another service): as if
    # the server could not be reached, so the tracer keeps the traces for later.
    what = response.headers.get("content-type", "no content type").split(";")[0]
    raise StoreUnavailableError(
        f"{shown} answered {status} ({what[:60]}) with a body that is not the store API's"
    )


def _error(status: int, body: dict[str, Any]) -> EvaltraceError:
    message = str(body["message"])
    kind = getattr(exceptions, str(body.get("exception", "")), None)
    if isinstance(kind, type) and issubclass(kind, EvaltraceError):
        if kind is exceptions.InvalidFilterError:
            position = body.get("position")
            return kind(message, position=position if isinstance(position, int) else None)
        return kind(message)
    by_status: dict[int, type[EvaltraceError]] = {
        400: InvalidArgumentError,
        401: exceptions.AuthenticationError,
        403: exceptions.PermissionDeniedError,
        404: exceptions.NotFoundError,
        413: exceptions.RequestTooLargeError,
    }
    return by_status.get(status, StoreError)(message)
