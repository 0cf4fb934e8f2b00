"""The SQL store against a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import base64
import dataclasses
import json
import multiprocessing
import os
import threading
import time

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

import evaltrace
from evaltrace._session import get_session
from evaltrace.entities import (
    Span,
    SpanEvent,
    SpanStatus,
    SpanStatusCode,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from evaltrace.exceptions import (
    ExperimentNotFoundError,
    InvalidArgumentError,
    TraceNotFoundError,
)
from evaltrace.store import migrate, models, rows
from evaltrace.store.sql_store import SqlStore


def make_trace(n: int, *, request_time: int | None = None, experiment_id: str = "0") -> Trace:
    trace_id = f"tr-{n:032x}"
    start = (request_time if request_time is not None else 1_700_000_000_000 + n) * 1_000_000
    root = Span(
        trace_id=trace_id,
        span_id=f"{n:016x}",
        parent_id=None,
        name="root",
        span_type="CHAIN",
        start_time_ns=start,
        end_time_ns=start + 5_000_000,
        status=SpanStatus(status_code=SpanStatusCode.OK),
        inputs={"question": f"q{n}", "unicode": "h\u00e9llo \u2603"},
        outputs=[1, {"a": None}],
        attributes={"k": [1, 2]},
        events=(SpanEvent(name="e", timestamp_ns=start + 1, attributes={"x": 1}),),
    )
    child = Span(
        trace_id=trace_id,
        span_id=f"{n + 1:016x}"[::-1],
        parent_id=root.span_id,
        name="child",
        span_type="LLM",
        start_time_ns=start + 1000,
        end_time_ns=start + 2000,
    )
    info = TraceInfo(
        trace_id=trace_id,
        experiment_id=experiment_id,
        request_time=start // 1_000_000,
        execution_duration=5,
        state=TraceState.OK,
        request_preview="q",
        response_preview="a",
        client_request_id=f"client-{n}",
        tags={"env": "prod", "n": str(n)},
        trace_metadata={"user": "u1"},
    )
    return Trace(info=info, data=TraceData(spans=(root, child)))


def test_migrations_run_on_first_use(store_uri: str) -> None:
    store = get_session().store(store_uri)
    tables = set(inspect(store.engine).get_table_names())  # type: ignore[attr-defined]
    assert {"experiments", "traces", "trace_tags", "trace_metadata", "spans"} <= tables
    assert {"alembic_version"} <= tables
    assert store.get_experiment("0").name == "Default"


def test_write_and_read_back_exactly(store_uri: str) -> None:
    store = get_session().store(store_uri)
    trace = make_trace(1)
    store.write_traces([trace])
    assert store.get_trace(trace.info.trace_id) == trace


def test_writing_the_same_trace_twice_is_harmless(store_uri: str) -> None:
    store = get_session().store(store_uri)
    store.write_traces([make_trace(1), make_trace(2)])
    store.write_traces([make_trace(2), make_trace(3)])
    page = store.search_traces(["0"], max_results=10)
    assert [t.info.trace_id for t in page.traces] == [
        make_trace(n).info.trace_id for n in (3, 2, 1)
    ]


def test_a_trace_written_twice_with_its_assessments_keeps_one_of_each(store_uri: str) -> None:
    """Assessments logged while a trace ran travel with it (and through the spool): a replay
    that writes the trace again must not fail on them, nor copy them."""
    from evaltrace import Feedback

    store = get_session().store(store_uri)
    trace = make_trace(7)
    judged = Feedback(assessment_id="a-live", trace_id=trace.info.trace_id, name="fast", value=True)
    with_judgment = dataclasses.replace(
        trace, info=dataclasses.replace(trace.info, assessments=(judged,))
    )
    store.write_traces([with_judgment])
    store.write_traces([with_judgment])
    (stored,) = store.get_trace(trace.info.trace_id).info.assessments
    assert (stored.assessment_id, stored.name, stored.value) == ("a-live", "fast", True)


def test_unknown_trace_id_is_a_typed_error(store_uri: str) -> None:
    with pytest.raises(TraceNotFoundError, match="tr-missing"):
        evaltrace.get_trace("tr-missing")
    with pytest.raises(InvalidArgumentError):
        evaltrace.get_trace("")


def test_keyset_pages_are_stable_under_concurrent_inserts(store_uri: str) -> None:
    store = get_session().store(store_uri)
    # Equal request times on purpose: the trace id breaks ties.
    store.write_traces([make_trace(n, request_time=1000 + n // 3) for n in range(30)])
    seen: list[str] = []
    token = None
    for page_number in range(10):
        page = store.search_traces(["0"], max_results=7, page_token=token, include_spans=False)
        seen.extend(t.info.trace_id for t in page.traces)
        if page_number == 1:  # newer traces arrive while paging: they must not shift pages
            store.write_traces([make_trace(100 + n, request_time=5000) for n in range(5)])
        token = page.next_page_token
        if token is None:
            break
    expected = sorted(
        (make_trace(n, request_time=1000 + n // 3).info for n in range(30)),
        key=lambda i: (i.request_time, i.trace_id),
        reverse=True,
    )
    assert seen == [i.trace_id for i in expected]
    assert all(t.data.spans == () for t in page.traces)


def test_bad_page_token_is_a_typed_error(store_uri: str) -> None:
    with pytest.raises(InvalidArgumentError, match="page_token"):
        get_session().store(store_uri).search_traces(["0"], max_results=1, page_token="garbage!")


@pytest.mark.parametrize(
    "after",
    [[1], None, {"a": 1}, ["x", "y"], [[1], "t"], [True, "t"], [1.5, "t"], ["late", "t"], [1, 2]],
)
def test_forged_page_token_is_a_typed_error(store_uri: str, after: object) -> None:
    """A token whose position has the wrong length or the wrong types raised IndexError /
    TypeError (or, on PostgreSQL, a database error) instead of a typed error."""
    store = get_session().store(store_uri)
    store.write_traces([make_trace(n, request_time=1000 + n) for n in range(3)])
    first = store.search_traces(["0"], max_results=1, include_spans=False)
    assert first.next_page_token is not None
    order = json.loads(base64.urlsafe_b64decode(first.next_page_token))["order"]
    forged = base64.urlsafe_b64encode(json.dumps({"order": order, "after": after}).encode())
    with pytest.raises(InvalidArgumentError, match="page_token"):
        store.search_traces(["0"], max_results=1, page_token=forged.decode())
    empty_order = base64.urlsafe_b64encode(json.dumps({"order": [], "after": after}).encode())
    with pytest.raises(InvalidArgumentError, match="page_token"):
        evaltrace.search_traces(page_token=empty_order.decode())


def test_experiments(store_uri: str) -> None:
    created = evaltrace.set_experiment("bot")
    assert created.experiment_id != "0"
    assert evaltrace.set_experiment("bot") == created
    assert evaltrace.get_experiment_by_name("bot") == created
    assert evaltrace.get_experiment_by_name("nope") is None
    assert evaltrace.set_experiment(experiment_id=created.experiment_id) == created
    with pytest.raises(ExperimentNotFoundError):
        evaltrace.set_experiment(experiment_id="999")
    with pytest.raises(ExperimentNotFoundError):
        evaltrace.set_experiment(experiment_id="abc")
    with pytest.raises(InvalidArgumentError):
        evaltrace.set_experiment()


def test_search_traces_scopes_to_active_experiment_and_orders_newest_first(store_uri: str) -> None:
    @evaltrace.trace
    def step(i: int) -> int:
        return i

    step(0)
    evaltrace.set_experiment("other")
    for i in range(1, 4):
        step(i)
        time.sleep(0.002)
    other = evaltrace.search_traces(return_type="list")
    assert [t.data.spans[0].inputs["i"] for t in other] == [3, 2, 1]
    default = evaltrace.search_traces(experiment_ids=["0"], return_type="list")
    assert [t.data.spans[0].inputs["i"] for t in default] == [0]
    both = evaltrace.search_traces(
        experiment_ids=["0", other[0].info.experiment_id], max_results=2, return_type="list"
    )
    assert len(both) == 2


def test_search_traces_dataframe_columns(store_uri: str) -> None:
    @evaltrace.trace
    def ask(question: str) -> dict:
        evaltrace.update_current_trace(tags={"t": "1"}, client_request_id="c-1")
        return {"answer": question.upper()}

    ask("hi")
    frame = evaltrace.search_traces()
    assert list(frame.columns) == [
        "trace_id",
        "trace",
        "client_request_id",
        "state",
        "request_time",
        "execution_duration",
        "request",
        "response",
        "trace_metadata",
        "tags",
        "spans",
        "assessments",
    ]
    row = frame.iloc[0]
    assert row["request"] == {"question": "hi"} and row["response"] == {"answer": "HI"}
    assert row["tags"] == {"t": "1"} and row["client_request_id"] == "c-1"
    assert row["state"] == "OK" and evaltrace.Trace.from_json(row["trace"]).info.trace_id
    assert row["spans"][0]["name"] == "ask"


def test_search_traces_argument_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="return_type"):
        evaltrace.search_traces(return_type="json")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="max_results"):
        evaltrace.search_traces(max_results=0)
    with pytest.raises(InvalidArgumentError, match="experiment_ids"):
        evaltrace.search_traces(experiment_ids=[""])
    with pytest.raises(InvalidArgumentError, match="experiment_ids"):
        evaltrace.search_traces(experiment_ids=" ")  # type: ignore[arg-type]


def test_search_traces_takes_one_experiment_id_as_a_string() -> None:
    evaltrace.trace(lambda: 1)()
    one = evaltrace.search_traces(experiment_ids="0", return_type="list")  # type: ignore[arg-type]
    assert [t.info.trace_id for t in one] == [evaltrace.get_last_active_trace_id()]


def test_postgres_rejects_nothing_we_write(store_uri: str) -> None:
    """NUL characters and huge names are cleaned before they reach the database."""

    @evaltrace.trace(name="n" * 2000)
    def weird(text: str) -> str:
        evaltrace.update_current_trace(tags={"nul\x00key": "nul\x00value"})
        return text

    weird("a\x00b")
    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    assert trace.data.spans[0].inputs == {"text": "a\x00b"}
    assert trace.info.tags == {"nul\ufffdkey": "nul\ufffdvalue"}
    assert len(trace.data.spans[0].name) == 500


def _open_store(uri: str) -> str:
    return SqlStore(uri).get_experiment("0").name


def test_concurrent_first_use_migrates_once(sqlite_uri: str) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert pool.map(_open_store, [sqlite_uri] * 4) == ["Default"] * 4
    engine = create_engine(sqlite_uri)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM experiments")).scalar() == 1
    engine.dispose()


def test_concurrent_first_use_migrates_once_on_postgres(
    postgres_server_url: str,
) -> None:
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS evaltrace_race WITH (FORCE)"))
        connection.execute(text("CREATE DATABASE evaltrace_race"))
    uri = postgres_server_url.rsplit("/", 1)[0] + "/evaltrace_race"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert pool.map(_open_store, [uri] * 4) == ["Default"] * 4
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE evaltrace_race WITH (FORCE)"))
    admin.dispose()


def _with_attributes(n: int) -> Trace:
    trace = make_trace(n)
    root, child = trace.data.spans
    root = dataclasses.replace(root, attributes={"model": f"m{n}", "tokens": n, "ok": True})
    return Trace(info=trace.info, data=TraceData(spans=(root, child)))


def _attribute_indexes(store: SqlStore) -> dict[str, bool]:
    """Index name -> whether it is partial."""
    where = f"{store.engine.dialect.name}_where"
    indexes = inspect(store.engine).get_indexes("span_attributes")  # type: ignore[union-attr]
    return {index["name"]: index["dialect_options"].get(where) is not None for index in indexes}


def test_attribute_indexes_become_partial_and_searches_still_find_everything(
    store_uri: str,
) -> None:
    store = get_session().store(store_uri)
    assert isinstance(store, SqlStore)
    names = {"ix_span_attributes_key_text", "ix_span_attributes_key_num"}
    assert _attribute_indexes(store) == dict.fromkeys(names, True)
    store.write_traces([_with_attributes(n) for n in (1, 2)])

    config = Config()
    config.set_main_option("script_location", str(migrate._SCRIPT_LOCATION))
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    assert _attribute_indexes(store) == dict.fromkeys(names, False)
    # Written under the old indexes and the old schema: no change feed, no span keys.
    _write_under_schema_0005(store, _with_attributes(3))
    migrate.upgrade_to_head(store.engine)
    assert _attribute_indexes(store) == dict.fromkeys(names, True)
    store.write_traces([_with_attributes(4)])

    def found(filter_string: str) -> list[str]:
        traces = evaltrace.search_traces(filter_string=filter_string, return_type="list")
        return sorted(trace.info.trace_id for trace in traces)

    ids = {n: make_trace(n).info.trace_id for n in (1, 2, 3, 4)}
    assert found("span.attributes.model = 'm3'") == [ids[3]]
    assert found("span.attributes.model IN ('m1', 'm4')") == [ids[1], ids[4]]
    assert found("span.attributes.model LIKE 'm%'") == sorted(ids.values())
    assert found("span.attributes.tokens >= 2") == [ids[2], ids[3], ids[4]]
    assert found("span.attributes.ok = true") == sorted(ids.values())
    # Migration 0009 numbered the older spans; the ones written after it come after them.
    with store.engine.connect() as connection:
        keys = connection.execute(text("SELECT span_pk FROM spans ORDER BY span_pk")).scalars()
        assert list(keys) == list(range(1, 9))  # 2 spans a trace, 4 traces
    evaltrace.delete_traces(experiment_id="0", trace_ids=[ids[3]])
    assert found("span.attributes.model LIKE 'm%'") == [ids[1], ids[2], ids[4]]
    with store.engine.connect() as connection:
        orphans = "SELECT count(*) FROM span_attributes a LEFT JOIN spans s USING (span_pk)"
        assert connection.execute(text(orphans + " WHERE s.span_pk IS NULL")).scalar() == 0


def _write_under_schema_0005(store: SqlStore, trace: Trace) -> None:
    """The rows of ``trace`` as the store of migration 0005 wrote them."""
    trace_row, _, _ = rows.trace_to_rows(trace)
    tables = [(models.traces.name, rows.TRACE_COLUMNS, [trace_row])]
    span_columns = rows.SPAN_COLUMNS[1:]
    tables.append(
        (models.spans.name, span_columns, [rows.span_to_row(s) for s in trace.data.spans])
    )
    attribute_columns = ("trace_id", "span_id", *rows.SPAN_ATTRIBUTE_COLUMNS[1:])
    attribute_rows = [
        (s.trace_id, s.span_id, *row)
        for s in trace.data.spans
        for row in rows.span_attribute_rows(s)
    ]
    tables.append((models.span_attributes.name, attribute_columns, attribute_rows))
    with store.engine.begin() as connection:
        for table, columns, table_rows in tables:
            marks = ", ".join(f":{c}" for c in columns)
            connection.execute(
                text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"),
                [dict(zip(columns, row)) for row in table_rows],
            )


def test_a_long_span_type_is_clipped_not_a_rejected_trace(store_uri: str) -> None:
    """PostgreSQL enforces spans.span_type's 100 characters: a longer type used to make it
    reject the whole trace (SQLite kept it)."""

    @evaltrace.trace(span_type="X" * 150)
    def odd() -> int:
        return 1

    odd()
    assert evaltrace.flush(timeout=30)
    (span,) = evaltrace.get_trace(evaltrace.get_last_active_trace_id()).data.spans
    assert span.span_type == "X" * 100


def test_parts_of_one_new_trace_merged_at_once_make_one_trace(store_uri: str) -> None:
    """OTLP requests for the same new trace written at the same moment (an exporter's retry
    while the first is still being written, two collector consumers). On PostgreSQL both
    transactions saw no trace and wrote the same spans; the second's span rows were skipped as
    duplicates and its attribute rows pointed at span keys never stored: an error. Writers of
    the same trace now wait for each other."""
    from evaltrace.otlp.convert import convert_request
    from tests.otlp.requests import new_trace_id, request, span

    store = get_session().store(store_uri)
    assert isinstance(store, SqlStore)
    experiment_id = get_session().experiment_id(store_uri)
    trace_id = new_trace_id()
    root = os.urandom(8)
    shared = [span(trace_id, os.urandom(8), f"shared {i}", parent=root, n=i) for i in range(50)]

    def part(index: int) -> Trace:
        own = span(trace_id, os.urandom(8), f"own {index}", parent=root, n=index)
        (converted,) = convert_request(request(*shared, own), lambda _: experiment_id).parts
        return converted

    parts = [part(i) for i in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(len(parts))

    def merge(one: Trace) -> None:
        start.wait()
        try:
            store.merge_traces([one])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=merge, args=(one,)) for one in parts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    names = sorted(s.name for s in store.get_trace(parts[0].info.trace_id).data.spans)
    assert names == sorted([f"shared {i}" for i in range(50)] + [f"own {i}" for i in range(8)])
    found = evaltrace.search_traces(
        experiment_ids=[experiment_id], filter_string="span.attributes.n = 7", return_type="list"
    )
    assert [t.info.trace_id for t in found] == [parts[0].info.trace_id]


def test_attribute_keys_alike_once_clipped_are_one_searchable_attribute(store_uri: str) -> None:
    """Keys are clipped to 250 characters in the search index: two that differ only after
    that are one row there (the first), not a rejected trace."""
    long = "k" * 300
    trace = make_trace(1)
    root, child = trace.data.spans
    root = dataclasses.replace(root, attributes={long + "a": "first", long + "b": "second"})
    store = get_session().store(store_uri)
    store.write_traces([Trace(info=trace.info, data=TraceData(spans=(root, child)))])
    stored = store.get_trace(trace.info.trace_id)
    assert stored.data.spans[0].attributes == {long + "a": "first", long + "b": "second"}
    found = evaltrace.search_traces(
        filter_string=f"span.attributes.{'k' * 250} = 'first'", return_type="list"
    )
    assert [t.info.trace_id for t in found] == [trace.info.trace_id]
