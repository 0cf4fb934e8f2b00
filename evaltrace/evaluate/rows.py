"""What evaluate() iterates over: one row per record, from any accepted kind of data."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from evaltrace._validation import shown
from evaltrace.entities import Trace
from evaltrace.exceptions import InvalidArgumentError

__all__ = ["DatasetPin", "Row", "rows_from"]


@dataclass(frozen=True, slots=True)
class Row:
    index: int
    key: str
    inputs: dict[str, Any]
    expectations: dict[str, Any]
    outputs: Any = None
    has_outputs: bool = False
    trace: Trace | None = None  # answer-sheet mode on existing traces


@dataclass(frozen=True, slots=True)
class DatasetPin:
    dataset_id: str
    version: int
    digest: str


def rows_from(data: Any) -> tuple[list[Row], DatasetPin | None]:
    from evaltrace.datasets import EvaluationDataset
    from evaltrace.datasets.records import _dataframe_rows, _is_dataframe, candidates_from

    if isinstance(data, EvaluationDataset):
        pin = DatasetPin(data.dataset_id, data.version, data.digest)
        records = data.records  # the version the handle holds: pinned for the whole run
        rows = [
            Row(i, r.record_id, r.inputs, r.expectations, r.outputs, r.outputs is not None)
            for i, r in enumerate(records)
        ]
        return rows, pin
    added_expectations: list[Any] = []
    if _is_dataframe(data):
        added_expectations = _expectations_column(data)
        data = _dataframe_rows(data)
    if isinstance(data, Trace):
        data = [data]
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, Iterable):
        raise InvalidArgumentError(
            "data must be an EvaluationDataset, a list of dicts or Traces, or a DataFrame; "
            f"got {shown(data)}"
        )
    data = list(data)
    rows = []
    for index, item in enumerate(data):
        if isinstance(item, Trace):
            record = item.to_dataset_record()
            added = added_expectations[index] if added_expectations else None
            rows.append(
                Row(
                    index,
                    record.record_id,
                    record.inputs,
                    {**record.expectations, **(added or {})},
                    record.outputs,
                    True,
                    item,
                )
            )
        else:
            try:
                (candidate,) = candidates_from([item])
            except InvalidArgumentError as exc:  # name the row of *this* data, not "record 0"
                raise InvalidArgumentError(
                    str(exc).replace("record 0", f"record {index}")
                ) from None
            rows.append(
                Row(
                    index,
                    candidate.record_id,
                    candidate.inputs,
                    candidate.expectations,
                    candidate.outputs,
                    candidate.has_outputs,
                )
            )
    return rows, None


def _expectations_column(frame: Any) -> list[Any]:
    """A search_traces DataFrame's ``expectations`` column, when the user added one: per row,
    a dict that adds to (and wins over) the expectations logged on the trace."""
    if "trace" not in frame.columns or "expectations" not in frame.columns:
        return []
    from evaltrace.datasets.records import _missing

    column = [None if _missing(value) else value for value in frame["expectations"]]
    for index, value in enumerate(column):
        if value is not None and not isinstance(value, Mapping):
            raise InvalidArgumentError(
                f"record {index}: expectations must be a dict, got {shown(value)}"
            )
    return [dict(value) if isinstance(value, Mapping) else None for value in column]


def check_rows(rows: list[Row], predict_fn: Callable[..., Any] | None) -> None:
    """Fail before anything runs: inputs that do not fit predict_fn, or nothing to score."""
    if predict_fn is None:
        for row in rows:
            if not row.has_outputs:
                raise InvalidArgumentError(
                    f"record {row.index} has no outputs: give predict_fn, or data with outputs "
                    "(answer-sheet mode)"
                )
        return
    if not callable(predict_fn):
        raise InvalidArgumentError("predict_fn must be callable")
    signature = inspect.signature(predict_fn)
    for row in rows:
        try:
            signature.bind(**row.inputs)
        except TypeError as exc:
            raise InvalidArgumentError(
                f"record {row.index}: inputs {sorted(row.inputs)} do not fit "
                f"predict_fn{signature}: {exc} (datasets.validate lists every such record)"
            ) from None
