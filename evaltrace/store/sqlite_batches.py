"""A batch of rows for SQLite in a few statements, never a statement a row.

Why: the ``sqlite3`` module releases the GIL around every statement it steps (each row of an
executemany) and must take it back before the next. While another thread of the process runs
Python (the application beside the trace writer), each takeback waits for the interpreter's
switch interval (5 ms): in a bare ``sqlite3`` trial, 20,000 rows took 50 ms alone and 47 s
beside a busy thread. So each table's rows go in one of two forms (chosen by measurement, in
bare ``sqlite3`` trials of the store's row shapes):

- tables of short values (span attributes, tags, metadata): one statement over the rows as a
  JSON array, ``INSERT ... SELECT ... FROM json_each(?)``: one GIL release for all of them, and
  about what executemany costs alone (2.9 against 2.6 us a row);
- tables with long text (spans and traces, whose payload columns are JSON text that a JSON
  array would escape and SQLite parse again: 15.9 against 9.2 us a row), and rows JSON would
  not carry exactly: multi-row ``INSERT ... VALUES (...), (...)`` of up to 999 parameters (the
  limit of the oldest SQLite builds), which costs less than executemany (6.4 us a row) and
  releases the GIL once a statement.

JSON does not carry exactly: integers past 64 bits, strings orjson refuses (lone surrogates),
other types, and NaN or infinities in a REAL column (orjson would write null). SQLite reads
JSON numbers back to the same doubles (tests/store/test_sqlite_batches.py checks the awkward
ones).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import orjson
from sqlalchemy import Float, Table, Text

__all__ = ["sqlite_batch"]

_MAX_PARAMETERS = 999
Statement = tuple[str, tuple[Any, ...]]


def sqlite_batch(
    table: Table, columns: Sequence[str], values: Sequence[Sequence[Any]]
) -> Iterator[Statement]:
    """The statements (SQL, parameters) that insert ``values``, ignoring rows whose key is
    stored already."""
    shape = _shape(table, tuple(columns))
    if not shape.long_text:
        payload = _json_rows(shape, values)
        if payload is not None:
            yield shape.json_insert, (payload,)
            return
    yield from _multi_row(shape, values)


class _Shape:
    """What the statements for one table's columns need, worked out once."""

    __slots__ = (
        "_head",
        "_multi",
        "_one",
        "float_positions",
        "json_insert",
        "long_text",
        "rows_a_statement",
    )

    def __init__(self, table: Table, columns: tuple[str, ...]) -> None:
        types = [table.c[name].type for name in columns]
        self.float_positions = tuple(i for i, kind in enumerate(types) if isinstance(kind, Float))
        self.long_text = any(isinstance(kind, Text) for kind in types)
        self.rows_a_statement = max(1, _MAX_PARAMETERS // len(columns))
        picks = ", ".join(f"value->>{i}" for i in range(len(columns)))
        # WHERE true: without it SQLite would read ON CONFLICT as the SELECT's join clause.
        self.json_insert = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"SELECT {picks} FROM json_each(?) WHERE true ON CONFLICT DO NOTHING"
        )
        self._head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
        self._one = "(" + ", ".join(["?"] * len(columns)) + ")"
        self._multi: dict[int, str] = {}

    def multi_insert(self, rows: int) -> str:
        statement = self._multi.get(rows)
        if statement is None:
            statement = self._multi[rows] = (
                f"{self._head}{', '.join([self._one] * rows)} ON CONFLICT DO NOTHING"
            )
        return statement


_shapes: dict[tuple[str, tuple[str, ...]], _Shape] = {}


def _shape(table: Table, columns: tuple[str, ...]) -> _Shape:
    key = (table.name, columns)
    shape = _shapes.get(key)
    if shape is None:
        shape = _shapes[key] = _Shape(table, columns)
    return shape


def _json_rows(shape: _Shape, values: Sequence[Sequence[Any]]) -> str | None:
    """The rows as JSON text, or None when JSON would not carry them exactly."""
    for index in shape.float_positions:
        if not all(_exact_in_json(row[index]) for row in values):
            return None
    try:
        return orjson.dumps(values).decode("utf-8")
    except (TypeError, orjson.JSONEncodeError):
        return None


def _exact_in_json(number: Any) -> bool:
    kind = type(number)
    return number is None or kind is int or (kind is float and math.isfinite(number))


def _multi_row(shape: _Shape, values: Sequence[Sequence[Any]]) -> Iterator[Statement]:
    """Full statements of ``rows_a_statement`` rows, then the rest in powers of two: a few
    distinct statements a table, which the driver's statement cache keeps prepared."""
    full, start = shape.rows_a_statement, 0
    while start < len(values):
        left = len(values) - start
        rows = full if left >= full else 1 << (left.bit_length() - 1)
        chunk = values[start : start + rows]
        yield shape.multi_insert(rows), tuple([value for row in chunk for value in row])
        start += rows
