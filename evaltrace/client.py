"""Reading traces back and choosing where they go: store URI, experiments, search."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from evaltrace._validation import require_count, require_text, require_texts, shown
from evaltrace.entities import Experiment, Trace
from evaltrace.exceptions import ExperimentNotFoundError, InvalidArgumentError
from evaltrace.search import parse_filter, parse_order_by
from evaltrace.store import get_store, registry
from evaltrace.tracer.processor import ExperimentRef
from evaltrace.tracer.runtime import (
    flush_for_readers,
    get_active_experiment,
    set_active_experiment,
)

if TYPE_CHECKING:
    import pandas

__all__ = [
    "PagedList",
    "get_experiment_by_name",
    "get_trace",
    "get_tracking_uri",
    "search_traces",
    "set_experiment",
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


def set_tracking_uri(uri: str) -> None:
    """Send traces to, and read them from, the store at ``uri`` (a SQLAlchemy URL)."""
    registry.set_tracking_uri(require_text(uri, "tracking uri"))


def get_tracking_uri() -> str:
    return registry.get_tracking_uri()


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make an experiment active for the traces that start from now on (created if new)."""
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidArgumentError("give exactly one of experiment_name and experiment_id")
    store = get_store()
    if experiment_id is not None:
        experiment = store.get_experiment(require_text(experiment_id, "experiment_id"))
    else:
        experiment = store.get_or_create_experiment(
            require_text(experiment_name, "experiment_name")
        )
    set_active_experiment(ExperimentRef(experiment_id=experiment.experiment_id))
    return experiment


def get_experiment_by_name(name: str) -> Experiment | None:
    return get_store().get_experiment_by_name(require_text(name, "name"))


def get_trace(trace_id: str) -> Trace:
    """The trace with this id; raises ``TraceNotFoundError`` if there is none."""
    require_text(trace_id, "trace_id")
    flush_for_readers()
    return get_store().get_trace(trace_id)


class PagedList(list):  # type: ignore[type-arg]
    """A list of traces with ``token``: the page token for the next page, or None."""

    token: str | None = None


def search_traces(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
    return_type: Literal["pandas", "list"] = "pandas",
    include_spans: bool = True,
) -> pandas.DataFrame | PagedList:
    """Traces of the given experiments (default: the active one) matching ``filter_string``.

    Order: ``order_by`` (e.g. ``["attributes.timestamp_ms DESC", "tags.env"]``), newest first by
    default. ``max_results=None`` returns every match; otherwise at most that many, and the
    token for the next page is ``result.token`` (a list) or ``result.attrs["next_page_token"]``
    (a DataFrame), to pass back as ``page_token``. Pages are cursors, not offsets: traces
    written meanwhile never shift them. ``include_spans=False`` skips loading spans.
    """
    if return_type not in ("pandas", "list"):
        raise InvalidArgumentError(f"return_type must be 'pandas' or 'list', got {return_type!r}")
    require_count(max_results, "max_results")
    require_text(page_token, "page_token", optional=True)
    if not isinstance(include_spans, bool):
        raise InvalidArgumentError(
            f"include_spans must be True or False, got {shown(include_spans)}"
        )
    condition = parse_filter(filter_string)
    order = parse_order_by(require_texts(order_by, "order_by"))
    experiment_ids = _experiment_ids(experiment_ids)
    flush_for_readers()
    store = get_store()
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
    frame.attrs["next_page_token"] = token
    return frame


def _experiment_ids(experiment_ids: Sequence[str] | None) -> list[str]:
    if experiment_ids is None:
        active = get_active_experiment()
        if active.experiment_id is not None:
            return [active.experiment_id]
        assert active.name is not None
        found = get_store().get_experiment_by_name(active.name)
        if found is None:
            raise ExperimentNotFoundError(f"experiment {active.name!r} not found")
        return [found.experiment_id]
    return require_texts(experiment_ids, "experiment_ids") or []


def traces_to_dataframe(traces: Sequence[Trace]) -> pandas.DataFrame:
    import pandas

    rows: list[dict[str, Any]] = []
    for trace in traces:
        info = trace.info
        root = trace.data._get_root_span()
        rows.append(
            {
                "trace_id": info.trace_id,
                "trace": trace,
                "client_request_id": info.client_request_id,
                "state": info.state.value,
                "request_time": info.request_time,
                "execution_duration": info.execution_duration,
                "request": None if root is None else root.inputs,
                "response": None if root is None else root.outputs,
                "trace_metadata": dict(info.trace_metadata),
                "tags": dict(info.tags),
                "spans": [span.to_dict() for span in trace.data.spans],
                "assessments": [a.to_dict() for a in info.assessments],
            }
        )
    return pandas.DataFrame(rows, columns=TRACE_COLUMNS)
