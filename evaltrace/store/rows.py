"""Entities to rows and rows to entities: the one place that knows both shapes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from evaltrace._json import dumps_json, loads_json, storable_text
from evaltrace.entities import (
    Assessment,
    Experiment,
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from evaltrace.entities.attribute_keys import is_indexed_attribute
from evaltrace.entities.limits import MAX_SPAN_TYPE_CHARS, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS
from evaltrace.store import models
from evaltrace.store.models import SPAN_KEY

__all__ = [
    "experiment_from_row",
    "experiment_key",
    "scalar_view",
    "span_attribute_rows",
    "span_from_row",
    "span_to_row",
    "trace_info_from_row",
    "trace_to_rows",
]


TOKEN_KEYS = ("input_tokens", "output_tokens", "total_tokens")


def _searchable_json(value: Any) -> str | None:
    """The text a non-scalar attribute value is compared as by the filter language: Python's
    ``json.dumps`` spacing (``[1, 2]``), kept as the stored format of ``value_text``."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _compact_json(value: Any) -> str | None:
    """JSON text for a column only read back (never compared as text by a filter)."""
    return None if value is None else dumps_json(value)


def _loads(text: str | None) -> Any:
    return None if text is None else loads_json(text)


# The trace path's rows are tuples in the traces table's column order (models.py says it
# once): thousands are written a second, and the driver takes tuples (sql_store.write_traces).
TRACE_COLUMNS = tuple(column.name for column in models.traces.columns)
# Of those, the ones a trace's root span decides (merge_traces sets them when it arrives):
# all but its identity and what its spans add up to.
_NOT_FROM_THE_ROOT = ("trace_id", "experiment_id", "client_request_id", *TOKEN_KEYS, "cost_usd")
ROOT_SUMMARY_COLUMNS = tuple(c for c in TRACE_COLUMNS if c not in _NOT_FROM_THE_ROOT)
# The trace_changes row each written trace gets (the monitor worker's feed).
CHANGE_COLUMNS = ("experiment_id", "trace_id")


def change_row(trace_row: Row) -> Row:
    return (trace_row[1], trace_row[0])  # TRACE_COLUMNS starts with trace_id, experiment_id


KEY_VALUE_COLUMNS = ("trace_id", "key", "value")  # trace_tags and trace_metadata
# A span's row is SPAN_COLUMNS: its key (allocated in the write transaction) before the
# span_to_row tuple; an attribute row is SPAN_ATTRIBUTE_COLUMNS: the key before the
# span_attribute_rows tuple.
SPAN_COLUMNS = (
    SPAN_KEY,
    "trace_id",
    "span_id",
    "parent_id",
    "name",
    "span_type",
    "status",
    "status_message",
    "start_time_ns",
    "end_time_ns",
    "duration_ns",
    "inputs",
    "outputs",
    "attributes",
    "events",
)
SCALAR_COLUMNS = ("value_type", "value_text", "value_num")
SPAN_ATTRIBUTE_COLUMNS = (SPAN_KEY, "key", *SCALAR_COLUMNS)
Row = tuple[Any, ...]


def usage_columns(sums: dict[str, Any]) -> dict[str, Any]:
    """A trace's usage columns from sums of its spans' usage attributes (by column name): the
    integers as integers, a missing total as input plus output, as at first write."""
    usage = {key: int(sums[key]) for key in TOKEN_KEYS if sums.get(key) is not None}
    if usage and "total_tokens" not in usage:
        usage["total_tokens"] = usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
    columns: dict[str, Any] = {key: usage.get(key) for key in TOKEN_KEYS}
    if sums.get("cost_usd") is not None:
        columns["cost_usd"] = float(sums["cost_usd"])
    return columns


def trace_to_rows(trace: Trace) -> tuple[Row, list[Row], list[Row]]:
    """The trace row, its tag rows and its metadata rows."""
    info = trace.info
    root = trace.data.root_span
    usage = info.token_usage or {}
    trace_row = (
        info.trace_id,
        int(info.experiment_id),
        root.name if root is not None else None,
        info.client_request_id,
        info.request_time,
        root.start_time_ns if root is not None else info.request_time * 1_000_000,
        info.execution_duration,
        info.state.value,
        info.request_preview,
        info.response_preview,
        *(usage.get(key) for key in TOKEN_KEYS),
        info.cost_usd,
    )
    tags = [(info.trace_id, k, v) for k, v in info.tags.items()]
    metadata = [(info.trace_id, k, v) for k, v in info.trace_metadata.items()]
    return trace_row, tags, metadata


def scalar_view(value: Any) -> dict[str, Any]:
    """The searchable columns of a JSON value: value_type, value_text, value_num."""
    return dict(zip(SCALAR_COLUMNS, _scalar(value)))


def _scalar(value: Any) -> tuple[str, str | None, float | None]:
    if isinstance(value, str):
        return ("str", _clip(value), None)
    if isinstance(value, bool):
        return ("bool", "true" if value else "false", None)
    if isinstance(value, (int, float)):
        return ("num", None, float(value))
    if value is None:
        return ("null", None, None)
    return ("json", _clip(_searchable_json(value)), None)


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    return storable_text(text)[:MAX_TAG_VALUE_CHARS]


def span_attribute_rows(span: Span) -> list[Row]:
    """The span's searchable attributes, each as SPAN_ATTRIBUTE_COLUMNS but the span key;
    of keys alike in their first MAX_TAG_KEY_CHARS characters, the first."""
    attribute_rows = [
        (key[:MAX_TAG_KEY_CHARS], *_scalar(value))
        for key, value in span.attributes.items()
        if is_indexed_attribute(key)
    ]
    if any(len(key) > MAX_TAG_KEY_CHARS for key in span.attributes):
        first: dict[str, Row] = {}
        for row in attribute_rows:
            first.setdefault(row[0], row)
        attribute_rows = list(first.values())
    return attribute_rows


def span_to_row(span: Span) -> Row:
    """The span as SPAN_COLUMNS but the span key (it starts with trace_id, span_id)."""
    return (
        span.trace_id,
        span.span_id,
        span.parent_id,
        span.name,
        span.span_type[
            :MAX_SPAN_TYPE_CHARS
        ],  # clipped on both stores (PostgreSQL would reject the row)
        span.status.status_code.value,
        span.status.description or None,
        span.start_time_ns,
        span.end_time_ns,
        span.duration_ns,
        _compact_json(span.inputs),
        _compact_json(span.outputs),
        _compact_json(span.attributes),
        _compact_json([event.to_dict() for event in span.events]),
    )


def span_from_row(row: Mapping[str, Any]) -> Span:
    return Span(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        parent_id=row["parent_id"],
        name=row["name"],
        span_type=row["span_type"],
        start_time_ns=row["start_time_ns"],
        end_time_ns=row["end_time_ns"],
        status=SpanStatus(
            status_code=SpanStatusCode(row["status"]), description=row["status_message"] or ""
        ),
        inputs=_loads(row["inputs"]),
        outputs=_loads(row["outputs"]),
        attributes=_loads(row["attributes"]) or {},
        events=tuple(SpanEvent.from_dict(event) for event in _loads(row["events"]) or ()),
    )


def trace_info_from_row(
    row: Mapping[str, Any],
    tags: Iterable[Mapping[str, Any]] = (),
    metadata: Iterable[Mapping[str, Any]] = (),
    assessments: Iterable[Assessment] = (),
) -> TraceInfo:
    return TraceInfo(
        trace_id=row["trace_id"],
        experiment_id=str(row["experiment_id"]),
        request_time=row["request_time"],
        execution_duration=row["execution_duration"],
        state=TraceState(row["state"]),
        request_preview=row["request_preview"],
        response_preview=row["response_preview"],
        client_request_id=row["client_request_id"],
        tags={tag["key"]: tag["value"] for tag in tags},
        trace_metadata={item["key"]: item["value"] for item in metadata},
        assessments=tuple(assessments),
        token_usage={key: row[key] for key in TOKEN_KEYS if row[key] is not None} or None,
        cost_usd=row["cost_usd"],
    )


def trace_from_rows(info: TraceInfo, span_rows: Iterable[Mapping[str, Any]]) -> Trace:
    spans = sorted((span_from_row(row) for row in span_rows), key=lambda s: s.start_time_ns)
    return Trace(info=info, data=TraceData(spans=tuple(spans)))


def experiment_key(experiment_id: str) -> int:
    """An experiment id as its column value; ``ExperimentNotFoundError`` for a string that
    cannot be one (not digits, or past the 64-bit column)."""
    from evaltrace.exceptions import ExperimentNotFoundError

    text = str(experiment_id)
    if not (text.isascii() and text.isdigit()) or int(text) >= 2**63:
        raise ExperimentNotFoundError(
            f"experiment id {experiment_id!r} not found (experiment ids are numeric strings)"
        )
    return int(text)


def experiment_from_row(row: Any, tags: dict[str, str] | None = None) -> Experiment:
    return Experiment(
        experiment_id=str(row["experiment_id"]),
        name=row["name"],
        creation_time=row["creation_time"],
        lifecycle_stage=row["lifecycle_stage"],
        last_update_time=row["last_update_time"],
        tags=tags or {},
    )
