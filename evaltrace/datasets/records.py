"""Turn what users merge (Traces, dicts, DataFrames, files) into validated record candidates.

Every problem is an ``InvalidArgumentError`` naming the record index and the field, raised
before anything is written.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evaltrace._validation import require_json
from evaltrace.entities import (
    DatasetRecordSource,
    DatasetRecordSourceType,
    Trace,
)
from evaltrace.entities.dataset import canonical_json, inputs_key
from evaltrace.entities.limits import MAX_TAG_KEY_CHARS
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.store import wire
from evaltrace.tracer.redact import redact

__all__ = ["Candidate", "candidates_from"]

FIELDS = ("inputs", "outputs", "expectations", "tags", "source", "record_id")
_ALIASES = {"row_id": "record_id"}  # the name seed 002 uses
_HINTS = {
    "expected": "expectations",
    "expectation": "expectations",
    "expected_output": "expectations",
    "input": "inputs",
    "output": "outputs",
    "request": "inputs",
    "response": "outputs",
    "tag": "tags",
    "id": "record_id",
}


@wire.register  # merged by the store, which may be a server
@dataclass(slots=True, kw_only=True)
class Candidate:
    """A record about to be merged: its key, content, and whether outputs were given."""

    record_id: str
    inputs: dict[str, Any]
    source: DatasetRecordSource
    outputs: Any = None
    has_outputs: bool = False
    expectations: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)

    def content(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "expectations": self.expectations,
            "tags": self.tags,
            "source": self.source.to_dict(),
        }

    def content_hash(self) -> str:
        return hashlib.sha256(canonical_json(self.content()).encode()).hexdigest()

    # The merge rules: the store applies them in its transaction, to what it holds.

    def merged_into(self, earlier: Candidate) -> Candidate:
        """This record merged into an earlier one with the same key (stored, or earlier in the
        same batch): its inputs and first source kept, expectations and tags dict-merged (this
        record's values win), outputs replaced when this record gives them."""
        return replace(
            earlier,
            expectations={**earlier.expectations, **self.expectations},
            tags={**earlier.tags, **self.tags},
            outputs=self.outputs if self.has_outputs else earlier.outputs,
            has_outputs=earlier.has_outputs or self.has_outputs,
        )

    def merged_into_stored(self, stored: Mapping[str, Any]) -> Candidate:
        """``merged_into`` the stored record whose fields (decoded) are ``stored``."""
        return self.merged_into(Candidate(**stored))


def candidates_from(data: Any) -> list[Candidate]:
    if isinstance(data, (str, Path)):
        from evaltrace.datasets.files import read_records

        data = read_records(data)
    elif _is_dataframe(data):
        data = _dataframe_rows(data)
    elif isinstance(data, (Trace, Mapping)):
        data = [data]
    if not isinstance(data, Iterable):
        raise InvalidArgumentError(
            "records must be a list of Traces or dicts, a DataFrame, or a file path; "
            f"got {type(data).__name__}"
        )
    candidates = []
    for index, item in enumerate(data):
        if isinstance(item, Trace):
            candidates.append(_from_trace(item, index))
        elif isinstance(item, Mapping):
            candidates.append(_from_dict(item, index))
        else:
            raise InvalidArgumentError(
                f"record {index} must be a Trace or a dict, got {type(item).__name__}"
            )
    return candidates


def _from_trace(trace: Trace, index: int) -> Candidate:
    """A trace's root inputs and outputs, with its expectations; checked as a dict record is
    (a trace read with ``include_spans=False`` has no root to take them from)."""
    where = f"record {index} (trace {trace.info.trace_id})"
    root = trace.data.root_span
    if root is None:
        raise InvalidArgumentError(
            f"{where} has no spans: read it with its spans (search_traces(include_spans=True))"
        )
    if root.inputs is None or root.inputs == {}:
        raise InvalidArgumentError(f"{where}: its root span has no inputs to make a record of")
    if not isinstance(root.inputs, dict):
        raise InvalidArgumentError(
            f"{where}: its root span's inputs are {_describe(root.inputs)}, not a dict of named "
            "inputs; merge a dict record made from it instead"
        )
    record = trace.to_dataset_record()
    return Candidate(
        record_id=record.record_id,
        inputs=record.inputs,
        outputs=record.outputs,
        has_outputs=True,
        expectations=record.expectations,
        source=record.source,
    )


def _from_dict(record: Mapping[str, Any], index: int) -> Candidate:
    where = f"record {index}"
    values: dict[str, Any] = {}
    for key, value in record.items():
        name = _ALIASES.get(key, key)
        if name not in FIELDS:
            suggestion = _HINTS.get(str(key)) or next(
                iter(difflib.get_close_matches(str(key), FIELDS, n=1, cutoff=0.6)), None
            )
            hint = (
                f"; did you mean '{suggestion}'?"
                if suggestion
                else f"; fields are {', '.join(FIELDS)}"
            )
            raise InvalidArgumentError(f"unknown field '{key}' in {where}{hint}")
        values[name] = value
    inputs = values.get("inputs")
    if not isinstance(inputs, Mapping) or not inputs:
        raise InvalidArgumentError(
            f"{where}: inputs must be a non-empty dict, got {_describe(inputs)}"
        )
    # Redacted as traces are: a record is stored as long as a trace, and shown as widely.
    inputs = redact(_json_dict(inputs, where, "inputs"), ("inputs",))
    expectations = redact(
        _json_dict(values.get("expectations") or {}, where, "expectations"), ("expectations",)
    )
    tags = _json_dict(values.get("tags") or {}, where, "tags")
    has_outputs = "outputs" in values
    outputs = redact(require_json(values.get("outputs"), f"{where}: outputs"), ("outputs",))
    record_id = values.get("record_id")
    if record_id is None:
        record_id = inputs_key(inputs)
    elif (
        not isinstance(record_id, (str, int)) or isinstance(record_id, bool) or str(record_id) == ""
    ):
        raise InvalidArgumentError(
            f"{where}: record_id must be a non-empty string, got {record_id!r}"
        )
    record_id = str(record_id)
    if len(record_id) > MAX_TAG_KEY_CHARS:
        raise InvalidArgumentError(
            f"{where}: record_id is longer than {MAX_TAG_KEY_CHARS} characters"
        )
    source = _source(values.get("source"), expectations, where)
    return Candidate(
        record_id=record_id,
        inputs=inputs,
        outputs=outputs,
        has_outputs=has_outputs,
        expectations=expectations,
        tags=tags,
        source=source,
    )


def _source(source: Any, expectations: dict[str, Any], where: str) -> DatasetRecordSource:
    """An explicit source wins; otherwise HUMAN with expectations, CODE without."""
    if source is None:
        inferred = DatasetRecordSourceType.HUMAN if expectations else DatasetRecordSourceType.CODE
        return DatasetRecordSource(source_type=inferred)
    if isinstance(source, DatasetRecordSource):
        result = source
    elif isinstance(source, Mapping):
        if "source_data" in source:
            data = source["source_data"] or {}
        else:  # a flat dict: {"source_type": "DOCUMENT", "doc_uri": ...}
            data = {k: v for k, v in source.items() if k != "source_type"}
        data = _json_dict(data, where, "source")
        try:
            kind = source.get("source_type", "")
            result = DatasetRecordSource(source_type=kind, source_data=data)
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"{where}: source.{exc}") from None
    else:
        raise InvalidArgumentError(f"{where}: source must be a dict, got {_describe(source)}")
    if result.source_type is DatasetRecordSourceType.DOCUMENT and not result.source_data.get(
        "doc_uri"
    ):
        raise InvalidArgumentError(f"{where}: a DOCUMENT source needs source_data['doc_uri']")
    return result


def _json_dict(value: Any, where: str, name: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidArgumentError(f"{where}: {name} must be a dict, got {_describe(value)}")
    if not all(isinstance(key, str) for key in value):
        raise InvalidArgumentError(f"{where}: {name} keys must be strings")
    return dict(require_json(dict(value), f"{where}: {name}"))


def _describe(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


# -- DataFrames ----------------------------------------------------------------------------------


def _is_dataframe(data: Any) -> bool:
    return type(data).__name__ == "DataFrame" and type(data).__module__.startswith("pandas")


def _dataframe_rows(frame: Any) -> list[Any]:
    """Rows as Traces (the search_traces DataFrame) or as record dicts.

    Columns may hold whole dicts (``inputs``) or be flattened (``inputs.question``).
    """
    if "trace" in frame.columns and "trace_id" in frame.columns:  # a search_traces frame
        return [t if isinstance(t, Trace) else _trace_from_json(t) for t in frame["trace"]]
    rows = []
    for raw in frame.to_dict(orient="records"):
        row: dict[str, Any] = {}
        for column, value in raw.items():
            if _missing(value):
                continue
            head, dot, rest = str(column).partition(".")
            if dot and head in FIELDS:
                row.setdefault(head, {})[rest] = value
            else:
                row[str(column)] = value
        rows.append(row)
    return rows


def _trace_from_json(text: Any) -> Trace:
    if not isinstance(text, str):
        raise InvalidArgumentError(f"the trace column holds a {type(text).__name__}, not a trace")
    try:
        return Trace.from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgumentError(
            f"the trace column holds text that is not a trace: {exc}"
        ) from None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
