"""Rows for SQLite as one JSON array, for ``INSERT ... SELECT ... FROM json_each(?)``.

Why: the ``sqlite3`` module releases the GIL around every row of an executemany and must take
it back before the next. While another thread of the process runs Python (the application
beside the trace writer, the event loop beside the OTLP writer), each of those takebacks waits
for the interpreter's switch interval (5 ms): in a bare ``sqlite3`` trial, 20,000 rows took
50 ms alone and 47 s beside a busy thread. One statement over a JSON array releases the GIL
once for all its rows (76 ms in the same trial), and costs the same when the writer is alone.

What JSON cannot carry exactly is left to executemany (``None`` is returned): integers past
64 bits, strings orjson refuses (lone surrogates), other types, and NaN or infinities in a
REAL column (orjson would write them as null). SQLite reads JSON numbers back to the same
doubles (tests/store/test_json_rows.py checks the awkward ones).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Float, Table

__all__ = ["sqlite_json_rows"]

_float_columns: dict[tuple[str, tuple[str, ...]], tuple[int, ...]] = {}


def sqlite_json_rows(
    table: Table, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> str | None:
    """The rows as JSON text, or None when JSON would not carry them exactly."""
    for index in _floats_at(table, columns):
        if not all(_exact_in_json(row[index]) for row in values):
            return None
    try:
        return orjson.dumps(values).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        return None


def _exact_in_json(number: Any) -> bool:
    kind = type(number)
    return number is None or kind is int or (kind is float and math.isfinite(number))


def _floats_at(table: Table, columns: Sequence[str]) -> tuple[int, ...]:
    key = (table.name, tuple(columns))
    found = _float_columns.get(key)
    if found is None:
        found = _float_columns[key] = tuple(
            i for i, name in enumerate(columns) if isinstance(table.c[name].type, Float)
        )
    return found
