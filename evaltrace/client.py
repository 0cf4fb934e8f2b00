"""Reading traces back and choosing where they go: store URI, experiments, search."""

from __future__ import annotations

import datetime
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from evaltrace._config import Settings
from evaltrace._session import get_session
from evaltrace._validation import require_count, require_text, require_texts, shown
from evaltrace.entities import Assessment, Experiment, Feedback, Trace
from evaltrace.entities.attribute_keys import (
    MODEL_ID_METADATA_KEY,
    RUN_TAG,
    SESSION_METADATA_KEY,
)
from evaltrace.entities.conversation import Conversation
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.search import parse_filter, parse_order_by
from evaltrace.search.ast import And, Comparison, Key, KeyKind, Op
from evaltrace.search.fields import FieldSpec, parse_field
from evaltrace.search.unparse import literal_text
from evaltrace.tracer.export import ExportStats

if TYPE_CHECKING:
    import pandas

__all__ = [
    "PagedList",
    "configure",
    "delete_trace_tag",
    "delete_traces",
    "export_status",
    "get_experiment_by_name",
    "get_trace",
    "get_tracking_uri",
    "search_traces",
    "set_experiment",
    "set_trace_tag",
    "set_tracking_uri",
]

_PAGE_SIZE = 1000
TRACE_COLUMNS = [
    "trace_id",
    "trace",
    "client_request_id",
    "state",
    "request_time",
    "execution_duration",
    "request",
    "response",
    "trace_metadata",
    "tags",
    "spans",
    "assessments",
]


_UNSET: Any = object()


def configure(
    *,
    tracking_uri: str = _UNSET,
    tracking_token: str | None = _UNSET,
    experiment_name: str | None = _UNSET,
    experiment_id: str | None = _UNSET,
    async_logging: bool = _UNSET,
    max_queue_size: int = _UNSET,
    batch_size: int = _UNSET,
    flush_on_exit_timeout: float = _UNSET,
    store_timeout: float = _UNSET,
    flush_on_sigterm: bool = _UNSET,
    max_payload_chars: int = _UNSET,
    use_global_provider: bool = _UNSET,
    trace_sampling_ratio: float = _UNSET,
    raise_internal_errors: bool = _UNSET,
    user: str | None = _UNSET,
    eval_max_workers: int = _UNSET,
    scorer_timeout: float = _UNSET,
    eval_progress: bool = _UNSET,
    redact: bool = _UNSET,
    redact_keys: str | None = _UNSET,
    redact_allow_keys: str | None = _UNSET,
    spool: bool = _UNSET,
    spool_dir: str | None = _UNSET,
    spool_max_bytes: int = _UNSET,
    server_token: str | None = _UNSET,
    server_tokens_file: str | None = _UNSET,
    server_allowed_hosts: str | None = _UNSET,
    otlp_endpoint: str | None = _UNSET,
    otlp_max_pending: int = _UNSET,
    otlp_workers: int = _UNSET,
) -> Settings:
    """Set settings in code (they win over ``EVALTRACE_*`` variables); returns the settings in
    force. Each value is checked first (type and range): a bad one raises
    ``InvalidArgumentError`` naming the setting, and nothing changes. The pipeline's own
    settings (queue, batch size, spool) apply from the next session: set them before tracing.
    """
    given = {name: value for name, value in locals().items() if value is not _UNSET}
    return get_session().configure(**given)


def set_tracking_uri(uri: str) -> None:
    """Send traces to, and read them from, the store at ``uri`` (a SQLAlchemy URL)."""
    get_session().set_tracking_uri(uri)


def export_status() -> ExportStats:
    """What this process did with its finished traces so far: written to the store, spooled to
    disk (replayed when the store is back), dropped (each drop is also warned about), still
    queued, and the last problem met. Every finished trace is counted in exactly one of
    written / spooled / dropped once it leaves the queue."""
    return get_session().export_stats()


def get_tracking_uri() -> str:
    return get_session().tracking_uri


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active for the traces that start from now on (created if new)."""
    return get_session().set_experiment(experiment_name, experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    """The experiment of that name, None if there is none. This session's finished traces are
    written first: the experiment they name is made as the first of them is stored."""
    require_text(name, "name")
    session = get_session()
    session.flush_for_readers()
    return session.store().get_experiment_by_name(name)


def get_trace(trace_id: str) -> Trace:
    """The trace with this id; raises ``TraceNotFoundError`` if there is none."""
    require_text(trace_id, "trace_id")
    session = get_session()
    session.flush_for_readers()
    return session.store().get_trace(trace_id)


def set_trace_tag(trace_id: str, key: str, value: Any) -> None:
    """Set a tag on a trace: a stored one, or one still running in this process (then it is
    written with the trace). Values other than strings are stored as their JSON text."""
    require_text(trace_id, "trace_id")
    key, text = _tag(key, value)
    session = get_session()
    if session.tag_running_trace(trace_id, key, text):
        return
    session.flush_for_readers()
    session.store().set_trace_tag(trace_id, key, text)


def delete_trace_tag(trace_id: str, key: str) -> None:
    """Remove a tag from a stored trace (``NotFoundError`` if it has none by that key)."""
    require_text(trace_id, "trace_id")
    require_text(key, "key")
    session = get_session()
    session.flush_for_readers()
    session.store().delete_trace_tag(trace_id, key)


def _tag(key: Any, value: Any) -> tuple[str, str]:
    from evaltrace.entities.limits import MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS
    from evaltrace.tracer.serialize import to_json

    require_text(key, "key")
    if len(key) > MAX_TAG_KEY_CHARS:
        raise InvalidArgumentError(f"tag key is longer than {MAX_TAG_KEY_CHARS} characters")
    # Any value, as update_current_trace(tags=...) takes it: its JSON text, objects as repr
    # (whole: one past the limit is refused below, never stored cut).
    text = value if isinstance(value, str) else to_json(value, sys.maxsize)
    if len(text) > MAX_TAG_VALUE_CHARS:
        raise InvalidArgumentError(
            f"tag {key!r}: the value is longer than {MAX_TAG_VALUE_CHARS} characters"
        )
    return key, text


def delete_traces(
    experiment_id: str,
    max_timestamp_millis: int | None = None,
    max_traces: int | None = None,
    trace_ids: Sequence[str] | None = None,
) -> int:
    """Delete traces of ``experiment_id`` (with their spans and assessments): those started
    before ``max_timestamp_millis`` and/or those in ``trace_ids``, oldest first, at most
    ``max_traces``. Returns how many were deleted; a failure deletes none."""
    require_text(experiment_id, "experiment_id")
    if max_timestamp_millis is not None and (
        type(max_timestamp_millis) is not int or max_timestamp_millis < 0
    ):
        raise InvalidArgumentError(
            f"max_timestamp_millis must be a non-negative int, got {shown(max_timestamp_millis)}"
        )
    require_count(max_traces, "max_traces")
    ids = require_texts(trace_ids, "trace_ids")
    if max_timestamp_millis is None and ids is None:
        raise InvalidArgumentError("delete_traces needs max_timestamp_millis or trace_ids")
    session = get_session()
    session.flush_for_readers()
    store = session.store()
    store.get_experiment(experiment_id)  # ExperimentNotFoundError naming it
    return store.browse.delete_traces(
        experiment_id,
        max_timestamp_ms=max_timestamp_millis,
        max_traces=max_traces,
        trace_ids=ids,
    )


class PagedList(list[Trace]):
    """A list of traces with ``token``: the page token for the next page, or None."""

    token: str | None = None


@overload
def search_traces(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
    *,
    return_type: Literal["list"],
    include_spans: bool = True,
    locations: Sequence[str] | None = None,
    extract_fields: Sequence[str] | None = None,
    run_id: str | None = None,
) -> PagedList: ...
@overload
def search_traces(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
    return_type: Literal["pandas"] = "pandas",
    include_spans: bool = True,
    locations: Sequence[str] | None = None,
    extract_fields: Sequence[str] | None = None,
    run_id: str | None = None,
) -> pandas.DataFrame: ...


def search_traces(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
    return_type: Literal["pandas", "list"] = "pandas",
    include_spans: bool = True,
    locations: Sequence[str] | None = None,
    extract_fields: Sequence[str] | None = None,
    run_id: str | None = None,
) -> pandas.DataFrame | PagedList:
    """Traces of the given experiments (default: the active one) matching ``filter_string``.

    Order: ``order_by`` (e.g. ``["attributes.timestamp_ms DESC", "tags.env"]``), newest first by
    default. ``max_results=None`` returns every match; otherwise at most that many, and the
    token for the next page is ``result.token`` (a list) or ``result.attrs["next_page_token"]``
    (a DataFrame), to pass back as ``page_token``. Pages are cursors, not offsets: traces
    written meanwhile never shift them. ``include_spans=False`` skips loading spans.

    The reference's newer arguments: ``locations`` (experiment ids, instead of
    ``experiment_ids``) and ``extract_fields`` (DataFrame columns taken from spans:
    ``"span_name.inputs"``, ``"span_name.outputs.field"``), and ``run_id`` (only the traces
    of that evaluation run, on top of the filter).
    """
    if return_type not in ("pandas", "list"):
        raise InvalidArgumentError(f"return_type must be 'pandas' or 'list', got {return_type!r}")
    if locations is not None:
        if experiment_ids is not None:
            raise InvalidArgumentError("give experiment_ids or locations, not both")
        experiment_ids = locations
    fields = _extract_fields(extract_fields, return_type)
    require_count(max_results, "max_results")
    require_text(page_token, "page_token", optional=True)
    if not isinstance(include_spans, bool):
        raise InvalidArgumentError(
            f"include_spans must be True or False, got {shown(include_spans)}"
        )
    condition = parse_filter(filter_string)
    if run_id is not None:
        of_run = Comparison(Key(KeyKind.TAG, RUN_TAG), Op.EQ, require_text(run_id, "run_id"))
        condition = of_run if condition is None else And((condition, of_run))
    order = parse_order_by(require_texts(order_by, "order_by"))
    session = get_session()
    experiment_ids = _experiment_ids(experiment_ids)
    session.flush_for_readers()
    store = session.store()
    traces = PagedList()
    token = page_token
    while max_results is None or len(traces) < max_results:
        want = _PAGE_SIZE if max_results is None else min(_PAGE_SIZE, max_results - len(traces))
        page = store.search_traces(
            experiment_ids,
            filter=condition,
            order_by=order,
            max_results=want,
            page_token=token,
            include_spans=include_spans,
        )
        traces.extend(page.traces)
        token = page.next_page_token
        if token is None:
            break
    traces.token = token
    if return_type == "list":
        return traces
    frame = traces_to_dataframe(traces)
    for field in fields:
        frame[field.column] = [field.value_in(trace.data.spans) for trace in traces]
    frame.attrs["next_page_token"] = token
    return frame


def _extract_fields(fields: Sequence[str] | None, return_type: str) -> list[FieldSpec]:
    if fields is None:
        return []
    if return_type != "pandas":
        raise InvalidArgumentError(
            "extract_fields makes DataFrame columns: use return_type='pandas'"
        )
    return [parse_field(field) for field in require_texts(fields, "extract_fields") or []]


def search_sessions(
    max_results: int = 100,
    run_id: str | None = None,
    model_id: str | None = None,
    include_spans: bool = True,
    locations: Sequence[str] | None = None,
) -> list[Conversation]:
    """Conversations: the traces sharing a session id (``mlflow.trace.session``), most recent
    conversation first, each one's traces in time order (the reference's ``search_sessions``;
    the result's items are ``evaltrace.entities.Session``). ``run_id`` / ``model_id``: only
    conversations with a trace of that evaluation run / app version."""
    require_count(max_results, "max_results")
    conditions = [f"metadata.`{SESSION_METADATA_KEY}` IS NOT NULL"]
    if model_id is not None:
        model = literal_text(require_text(model_id, "model_id"))
        conditions.append(f"metadata.`{MODEL_ID_METADATA_KEY}` = {model}")
    found: list[str] = []
    token = None
    while len(found) < max_results:
        page = search_traces(
            filter_string=" AND ".join(conditions),
            max_results=200,
            page_token=token,
            return_type="list",
            include_spans=False,
            locations=locations,
            run_id=run_id,
        )
        for trace in page:
            session_id = trace.info.trace_metadata[SESSION_METADATA_KEY]
            if session_id not in found and len(found) < max_results:
                found.append(session_id)
        token = page.token
        if not token:
            break
    conversations = []
    for session_id in found:
        of_session = f"metadata.`{SESSION_METADATA_KEY}` = {literal_text(session_id)}"
        traces = search_traces(
            filter_string=of_session,
            order_by=["timestamp_ms ASC"],
            return_type="list",
            include_spans=include_spans,
            locations=locations,
        )
        conversations.append(Conversation.of(session_id, traces))
    return conversations


def _experiment_ids(experiment_ids: Sequence[str] | None) -> list[str]:
    if experiment_ids is None:
        return [get_session().experiment_id()]
    if isinstance(experiment_ids, str):
        return [require_text(experiment_ids, "experiment_ids")]
    return require_texts(experiment_ids, "experiment_ids") or []


def traces_to_dataframe(traces: Sequence[Trace]) -> pandas.DataFrame:
    import pandas

    rows: list[dict[str, Any]] = []
    for trace in traces:
        info = trace.info
        root = trace.data.root_span
        rows.append(
            {
                "trace_id": info.trace_id,
                "trace": trace.to_json(),  # as the reference's: Trace.from_json reads it
                "client_request_id": info.client_request_id,
                "state": info.state.value,
                "request_time": info.request_time,
                "execution_duration": info.execution_duration,
                "request": None if root is None else root.inputs,
                "response": None if root is None else root.outputs,
                "trace_metadata": dict(info.trace_metadata),
                "tags": dict(info.tags),
                "spans": [span.to_dict() for span in trace.data.spans],
                "assessments": [assessment_row(a) for a in info.assessments],
            }
        )
    return pandas.DataFrame(rows, columns=TRACE_COLUMNS)


def assessment_row(assessment: Assessment) -> dict[str, Any]:
    """An assessment as the reference's DataFrame shows it: its name under
    ``assessment_name``, times as ISO 8601 text, the value under ``feedback`` or
    ``expectation``."""
    row: dict[str, Any] = {
        "assessment_id": assessment.assessment_id,
        "assessment_name": assessment.name,
        "trace_id": assessment.trace_id,
        "source": assessment.source.to_dict(),
        "create_time": _iso(assessment.create_time_ms),
        "last_update_time": _iso(assessment.last_update_time_ms),
    }
    if isinstance(assessment, Feedback):
        value: dict[str, Any] = {"value": assessment.value}
        if assessment.error is not None:
            value["error"] = assessment.error.to_dict()
        row["feedback"] = value
        if assessment.rationale is not None:
            row["rationale"] = assessment.rationale
    else:
        row["expectation"] = {"value": assessment.value}
    for key in ("span_id", "overrides"):
        if getattr(assessment, key) is not None:
            row[key] = getattr(assessment, key)
    if assessment.metadata:
        row["metadata"] = dict(assessment.metadata)
    row["valid"] = assessment.valid
    return row


def _iso(epoch_ms: int) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
