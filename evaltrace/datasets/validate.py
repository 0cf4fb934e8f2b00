"""Check a dataset before evaluating with it (the gates of reference/002).

``validate`` never raises on bad records: it returns a report whose findings each name the
record (by index) and the field. ``report.raise_if_failed()`` turns a failed report into a
``DatasetValidationError``.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaltrace.entities import Trace
from evaltrace.entities.dataset import inputs_key
from evaltrace.exceptions import DatasetValidationError

__all__ = ["Finding", "ValidationReport", "validate"]

_EMPTY: tuple[Any, ...] = (None, "", [], {})


@dataclass(frozen=True, slots=True)
class Finding:
    check: str  # predict_fn | required_field | min_rows | bucket | journey | duplicate | shape
    message: str
    record: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = "" if self.record is None else f"record {self.record}: "
        return f"[{self.check}] {where}{self.message}"


@dataclass(slots=True)
class ValidationReport:
    row_count: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def raise_if_failed(self) -> None:
        if self.findings:
            shown = "\n".join(f"  {f}" for f in self.findings[:20])
            more = f"\n  ... and {len(self.findings) - 20} more" if len(self.findings) > 20 else ""
            raise DatasetValidationError(
                f"dataset failed validation ({len(self.findings)} finding(s)):\n{shown}{more}",
                report=self,
            )

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.row_count} records"
        return "\n".join(str(f) for f in self.findings)


def validate(
    data: Any,
    *,
    predict_fn: Callable[..., Any] | None = None,
    required_fields: Sequence[str] | None = None,
    split_field: str = "split",
    exempt_splits: Collection[str] = ("regression",),
    min_rows: int | None = None,
    per_bucket_min_rows: int | None = None,
    bucket_field: str = "bucket",
    buckets: Collection[str] | None = None,
    per_journey_min_rows: int | None = None,
    journey_field: str = "journey_id",
    journeys: Collection[str] | None = None,
) -> ValidationReport:
    """Check records (an EvaluationDataset, Traces, dicts or a DataFrame) before evaluation.

    - ``predict_fn``: every record's ``inputs`` must bind to its parameters;
    - ``required_fields``: present and non-empty in each record (looked up at the top level,
      then in expectations, inputs and tags), except that records whose ``split_field`` is in
      ``exempt_splits`` may leave them empty;
    - ``min_rows``, ``per_bucket_min_rows`` (over ``buckets`` if declared, else the buckets
      seen), ``per_journey_min_rows``: coverage gates;
    - duplicates by key (``record_id``, else the inputs), and rows that carry a ``trace``
      together with ``inputs`` and ``outputs``.
    """
    rows = _rows(data)
    report = ValidationReport(row_count=len(rows))
    add = report.findings.append
    signature = _signature(predict_fn) if predict_fn is not None else None
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        inputs = row.get("inputs")
        if not isinstance(inputs, dict):
            add(
                Finding(
                    "shape", f"inputs must be a dict, got {type(inputs).__name__}", index, "inputs"
                )
            )
            continue
        if "trace" in row and "inputs" in row and "outputs" in row:
            add(
                Finding(
                    "shape",
                    "mixes a trace with inputs and outputs; give one or the other",
                    index,
                    "trace",
                )
            )
        if signature is not None:
            try:
                signature.bind(**inputs)
            except TypeError as exc:
                add(
                    Finding(
                        "predict_fn",
                        f"inputs {sorted(inputs)} do not fit predict_fn{signature}: {exc}",
                        index,
                        "inputs",
                    )
                )
        split = _lookup(row, split_field)
        for name in required_fields or ():
            value = _lookup(row, name)
            if value is _MISSING:
                add(Finding("required_field", f"required field '{name}' is missing", index, name))
            elif value in _EMPTY and split not in exempt_splits:
                add(Finding("required_field", f"required field '{name}' is empty", index, name))
        key = str(row.get("record_id") or row.get("row_id") or inputs_key(inputs))
        if key in seen:
            add(
                Finding(
                    "duplicate", f"duplicates record {seen[key]} (key {key!r})", index, "record_id"
                )
            )
        else:
            seen[key] = index
    if min_rows is not None and len(rows) < min_rows:
        add(Finding("min_rows", f"{len(rows)} records, fewer than the minimum {min_rows}"))
    for check, minimum, field_name, declared in (
        ("bucket", per_bucket_min_rows, bucket_field, buckets),
        ("journey", per_journey_min_rows, journey_field, journeys),
    ):
        if minimum is None:
            continue
        counts = Counter(
            str(value)
            for value in (_lookup(row, field_name) for row in rows)
            if value not in (_MISSING, *_EMPTY)
        )
        for name in sorted(set(declared or ()) | set(counts)):
            if counts[name] < minimum:
                add(
                    Finding(
                        check,
                        f"{field_name} {name!r} has {counts[name]} record(s), fewer than {minimum}",
                        field=field_name,
                    )
                )
    return report


_MISSING: Any = object()


def _lookup(row: dict[str, Any], name: str) -> Any:
    if name in row:
        return row[name]
    for part in ("expectations", "inputs", "tags"):
        values = row.get(part)
        if isinstance(values, dict) and name in values:
            return values[name]
    return _MISSING


def _signature(fn: Callable[..., Any]) -> inspect.Signature:
    signature = inspect.signature(fn)
    params = [p for p in signature.parameters.values() if p.name not in ("self", "cls")]
    return signature.replace(parameters=params)


def _rows(data: Any) -> list[dict[str, Any]]:
    from evaltrace.datasets.dataset import EvaluationDataset
    from evaltrace.datasets.records import _dataframe_rows, _is_dataframe

    if isinstance(data, EvaluationDataset):
        return [r.to_dict() for r in data.records]
    if _is_dataframe(data):
        data = _dataframe_rows(data)
    rows = []
    for item in data:
        if isinstance(item, Trace):
            rows.append(item.to_dataset_record().to_dict())
        elif isinstance(item, dict):
            rows.append(item)
        else:
            rows.append({"inputs": item})
    return rows
