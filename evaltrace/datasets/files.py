"""Records from and to files: CSV, JSON (a list of records) and JSONL."""

from __future__ import annotations

import codecs
import csv
import io
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
    """Record dicts from a file (UTF-8 with or without BOM, or UTF-16 with BOM). CSV cells
    holding JSON are decoded; dotted columns (``inputs.question``) are nested. A file that
    cannot be read is an ``InvalidArgumentError`` naming it, the line and the problem."""
    path = Path(path)
    kind = _format(path, format)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {path}: {exc.strerror or exc}") from None
    text = _decode(raw, path)
    if kind == "json":
        records = _loads(text, path, 1)
        if not isinstance(records, list):
            raise InvalidArgumentError(f"{path}: a JSON file must hold a list of records")
        return records
    if kind == "jsonl":
        return [
            _loads(line, path, n) for n, line in enumerate(text.splitlines(), 1) if line.strip()
        ]
    return _csv_records(text, path)


def _decode(raw: bytes, path: Path) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"  # a UTF-8 BOM, if any, is dropped
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InvalidArgumentError(
            f"{path}:{line}: not {encoding.removesuffix('-sig').upper()} text (byte "
            f"{exc.start}); save the file as UTF-8"
        ) from None


def _csv_records(text: str, path: Path) -> list[dict[str, Any]]:
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InvalidArgumentError(f"{path}:{line}: a NUL character; is this a CSV file?")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    try:
        header = next(reader, None)
        if header is None:
            return []
        for cells in reader:
            if not cells:
                continue  # a blank line
            if len(cells) > len(header):
                raise InvalidArgumentError(
                    f"{path}:{reader.line_num}: {len(cells)} fields, but the header names "
                    f"{len(header)}"
                )
            rows.append(_csv_record(dict(zip(header, cells))))
    except csv.Error as exc:
        raise InvalidArgumentError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None
    return rows


def _csv_record(row: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for column, cell in row.items():
        if cell == "":
            continue
        head, dot, rest = column.partition(".")
        value = _cell(cell) if (dot or head in _STRUCTURED) else cell
        if dot and head in _STRUCTURED:
            record.setdefault(head, {})[rest] = value
        else:
            record[column] = value
    return record


def _loads(text: str, path: Path, line: int) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidArgumentError(f"{path}:{line}: not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidArgumentError(f"{path}:{line}: JSON nested too deeply") from None


def _cell(cell: str) -> Any:
    try:
        return json.loads(cell)
    except (ValueError, RecursionError):
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
