"""The SQL path and the Python reference evaluator agree, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from evaltrace._session import get_session
from evaltrace.search import parse_filter
from tests.search import reference
from tests.search.corpus import corpus, filters, render

CORPUS = corpus()


@pytest.fixture
def loaded_store(store_uri: str):
    store = get_session().store(store_uri)
    store.write_traces(CORPUS)  # with the assessments each trace carries
    return store


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(expr=filters())
def test_sql_agrees_with_reference(loaded_store, expr) -> None:
    text = render(expr)
    assert parse_filter(text) == expr, text  # the parser reads back what was rendered
    page = loaded_store.search_traces(["0"], filter=expr, max_results=1000, include_spans=False)
    got = sorted(t.info.trace_id for t in page.traces)
    expected = sorted(t.info.trace_id for t in CORPUS if reference.matches(t, expr))
    assert got == expected, text
