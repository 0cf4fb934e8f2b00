"""merge_row_shares: one OTLP request's traces written share by share (otlp/ingest.py)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from evaltrace.store.sql_store import SqlStore
from evaltrace.store.trace_rows import TraceRows, traces_rows
from tests.store.test_sql_store import make_trace


class Broken(Exception):
    pass


def _shares(
    first: int, count: int, *, fail_after: int | None = None
) -> Iterator[Sequence[TraceRows]]:
    for k in range(count):
        if fail_after is not None and k == fail_after:
            raise Broken("the third share never came")
        yield traces_rows([make_trace(first + 10 * k), make_trace(first + 10 * k + 3)])


def test_shares_are_stored_as_the_same_traces_written_whole(store_uri: str) -> None:
    store = SqlStore(store_uri)
    try:
        store.merge_row_shares(_shares(100, 3))
        for k in range(3):
            for n in (100 + 10 * k, 103 + 10 * k):
                assert store.get_trace(f"tr-{n:032x}") == make_trace(n)
    finally:
        store.close()


def test_a_request_whose_share_fails_writes_nothing(store_uri: str) -> None:
    store = SqlStore(store_uri)
    try:
        with pytest.raises(Broken):
            store.merge_row_shares(_shares(200, 3, fail_after=2))
        with store.db.read() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM traces").scalar() == 0
            assert connection.exec_driver_sql("SELECT count(*) FROM spans").scalar() == 0
        store.merge_row_shares(_shares(200, 3))  # the client's retry
        with store.db.read() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM traces").scalar() == 6
            assert connection.exec_driver_sql("SELECT count(*) FROM spans").scalar() == 12
    finally:
        store.close()
