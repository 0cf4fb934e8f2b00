"""SQLite takes a batch's rows in a few statements (store/sqlite_batches.py), never one a row:
a JSON array for tables of short values, multi-row VALUES for long text and for what JSON
cannot carry exactly; the values stored exactly as executemany stored them."""

from __future__ import annotations

import dataclasses
import math
import sqlite3
from typing import Any

import pytest
from sqlalchemy import event

from evaltrace._session import get_session
from evaltrace.entities import Trace
from evaltrace.store import models
from evaltrace.store.sql_store import SqlStore
from evaltrace.store.sqlite_batches import sqlite_batch
from tests.store.test_sql_store import make_trace

AWKWARD_FLOATS = [
    0.1,
    1 / 3,
    -2.5e-8,
    5e-324,  # the smallest subnormal
    2.2250738585072014e-308,  # the smallest normal
    1.7976931348623157e308,  # the largest
    123456789.12345679,
    4503599627370497.0,  # 2**52 + 1
]
AWKWARD_TEXTS = ['quo"te', "back\\slash", "line\nbreak\ttab", "h\u00e9llo \u2603 \U0001f600", ""]


def _with_attributes(trace: Trace, attributes: dict[str, Any]) -> Trace:
    root, *others = trace.data.spans
    root = dataclasses.replace(root, attributes=attributes)
    return dataclasses.replace(trace, data=dataclasses.replace(trace.data, spans=(root, *others)))


def _stored_attributes(sqlite_uri: str) -> dict[str, tuple[Any, Any]]:
    path = sqlite_uri.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT key, value_text, value_num FROM span_attributes")
        return {key: (text, number) for key, text, number in rows}


def test_numbers_and_texts_are_stored_exactly(sqlite_uri: str) -> None:
    attributes: dict[str, Any] = {f"f{i}": value for i, value in enumerate(AWKWARD_FLOATS)}
    attributes.update({f"t{i}": text for i, text in enumerate(AWKWARD_TEXTS)})
    attributes.update({"int_max": 2**63 - 1, "int_min": -(2**63), "flag": True, "none": None})
    store = get_session().store(sqlite_uri)
    trace = _with_attributes(make_trace(1), attributes)
    store.write_traces([trace])

    stored = _stored_attributes(sqlite_uri)
    for i, value in enumerate(AWKWARD_FLOATS):
        assert stored[f"f{i}"] == (None, value)  # the same double, bit for bit
    for i, text in enumerate(AWKWARD_TEXTS):
        assert stored[f"t{i}"] == (text, None)
    assert stored["int_max"] == (None, float(2**63 - 1))
    assert stored["flag"] == ("true", None) and stored["none"] == (None, None)
    assert store.get_trace(trace.info.trace_id) == trace


def test_a_batch_is_one_insert_a_table(sqlite_uri: str) -> None:
    store = SqlStore(sqlite_uri)
    store.db.engine.dispose()  # connections opened from here on report their statements
    inserts: list[str] = []

    @event.listens_for(store.db.engine, "connect")
    def _report(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.set_trace_callback(
            lambda sql: inserts.append(sql) if sql.startswith("INSERT") else None
        )

    store.write_traces([make_trace(n * 2) for n in range(200)])
    # Tags, metadata, changes and attributes one statement each; traces and spans (long text)
    # in statements of up to 999 parameters. executemany made one a row: 1,600 here.
    assert len(inserts) <= 20, len(inserts)
    assert len(store.search_traces(["0"], max_results=500).traces) == 200
    store.close()


COLUMNS = ("span_pk", "key", "value_type", "value_text", "value_num")


@pytest.mark.parametrize(
    ("row", "why"),
    [
        ((1, "k", "num", None, math.inf), "infinity in a REAL column (JSON would say null)"),
        ((1, "k", "num", None, math.nan), "NaN in a REAL column"),
        ((1, "k", "num", None, True), "a boolean in a REAL column"),
        ((2**70, "k", "num", None, 1.0), "an integer past 64 bits"),
        ((1, "k\udc80", "str", "v", None), "a lone surrogate"),
        ((1, b"k", "str", "v", None), "bytes"),
    ],
)
def test_what_json_cannot_carry_exactly_is_bound_as_parameters(row: tuple, why: str) -> None:
    rows = [row, (2, "k", "str", "v", None)]
    statements = list(sqlite_batch(models.span_attributes, COLUMNS, rows))
    assert [parameters for _, parameters in statements] == [(*row, 2, "k", "str", "v", None)], why
    assert "VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?) ON CONFLICT" in statements[0][0]


def test_short_values_become_one_json_array() -> None:
    values = [(1, "model", "str", "gpt-4o", None), (1, "tokens", "num", None, 120)]
    ((sql, parameters),) = sqlite_batch(models.span_attributes, COLUMNS, values)
    assert "json_each(?)" in sql
    assert parameters == ('[[1,"model","str","gpt-4o",null],[1,"tokens","num",null,120]]',)


def test_long_text_goes_in_statements_of_at_most_999_parameters() -> None:
    columns = ("trace_id", "span_id", "name", "inputs")
    values = [(f"t{i}", f"s{i}", "step", '{"q": "a long \\"quoted\\" text"}') for i in range(600)]
    statements = list(sqlite_batch(models.spans, columns, values))
    sizes = [len(parameters) // len(columns) for _, parameters in statements]
    assert sum(sizes) == 600 and max(sizes) == 999 // len(columns)
    assert all(len(parameters) <= 999 for _, parameters in statements)
    assert len({sql for sql, _ in statements}) <= 9  # full statements, then powers of two
    flat = [value for _, parameters in statements for value in parameters]
    assert flat == [value for row in values for value in row]
