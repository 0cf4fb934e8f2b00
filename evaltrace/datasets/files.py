"""Records from and to files: CSV, JSON (a list of records) and JSONL."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaltrace.entities import DatasetRecord
from evaltrace.exceptions import InvalidArgumentError

__all__ = ["read_records", "write_records"]

_STRUCTURED = ("inputs", "outputs", "expectations", "tags", "source")


def _format(path: Path, format: str | None) -> str:
    kind = (format or path.suffix.lstrip(".")).lower()
    if kind not in ("csv", "json", "jsonl"):
        raise InvalidArgumentError(f"cannot tell the format of {path}: use .csv, .json or .jsonl")
    return kind


def read_records(path: str | Path, format: str | None = None) -> list[dict[str, Any]]:
    """Record dicts from a file. CSV cells holding JSON are decoded; dotted columns
    (``inputs.question``) are nested."""
    path = Path(path)
    kind = _format(path, format)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {path}: {exc}") from None
    if kind == "json":
        records = _loads(text, path, 1)
        if not isinstance(records, list):
            raise InvalidArgumentError(f"{path}: a JSON file must hold a list of records")
        return records
    if kind == "jsonl":
        return [
            _loads(line, path, n) for n, line in enumerate(text.splitlines(), 1) if line.strip()
        ]
    rows = []
    for row in csv.DictReader(text.splitlines()):
        record: dict[str, Any] = {}
        for column, cell in row.items():
            if cell is None or cell == "":
                continue
            head, dot, rest = column.partition(".")
            value = _cell(cell) if (dot or head in _STRUCTURED) else cell
            if dot and head in _STRUCTURED:
                record.setdefault(head, {})[rest] = value
            else:
                record[column] = value
        rows.append(record)
    return rows


def _loads(text: str, path: Path, line: int) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidArgumentError(f"{path}:{line}: not valid JSON: {exc}") from None


def _cell(cell: str) -> Any:
    try:
        return json.loads(cell)
    except ValueError:
        return cell  # a plain string


def write_records(
    records: Sequence[DatasetRecord], path: str | Path, format: str | None = None
) -> Path:
    path = Path(path)
    kind = _format(path, format)
    rows = [_exported(record) for record in records]
    if kind == "jsonl":
        path.write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
        )
    elif kind == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        columns = ["record_id", *_STRUCTURED]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow(
                    {
                        c: row[c] if c == "record_id" else json.dumps(row[c], ensure_ascii=False)
                        for c in columns
                    }
                )
    return path


def _exported(record: DatasetRecord) -> dict[str, Any]:
    return {
        "record_id": record.record_id,
        "inputs": record.inputs,
        "outputs": record.outputs,
        "expectations": record.expectations,
        "tags": record.tags,
        "source": record.source.to_dict(),
    }
