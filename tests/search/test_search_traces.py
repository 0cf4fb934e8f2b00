"""search_traces with filters, order_by and pages, through the public API, on both stores."""

from __future__ import annotations

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evaltrace
from evaltrace._session import get_session
from evaltrace.exceptions import InvalidArgumentError, InvalidFilterError
from evaltrace.store import sql_store
from tests.conftest import ALL_STORE_KINDS
from tests.search.corpus import corpus

STORE_KINDS = ALL_STORE_KINDS  # every test asking for store_uri runs over HTTP too


@evaltrace.trace(span_type="CHAIN")
def bot(question: str, env: str | None = None, model: str = "small") -> str:
    if env is not None:
        evaltrace.update_current_trace(tags={"env": env}, metadata={"q": question})
    with evaltrace.start_span("llm", span_type="LLM", attributes={"model": model}):
        pass
    with evaltrace.start_span("lookup", span_type="TOOL", attributes={"model": "none"}):
        pass
    return question.upper()


def ids(filter_string: str, **kwargs: object) -> set[str]:
    found = evaltrace.search_traces(filter_string=filter_string, return_type="list", **kwargs)
    return {t.data.spans[0].inputs["question"] for t in found}


def test_filters_through_the_public_api(store_uri: str) -> None:
    bot("a", env="prod", model="big")
    bot("b", env="dev")
    bot("c")
    assert ids("tags.env = 'prod'") == {"a"}
    assert ids("tags.env != 'prod'") == {"b", "c"}  # missing tags match !=
    assert ids("tags.env IS NULL") == {"c"}
    assert ids("tags.env = 'prod' OR metadata.q = 'b'") == {"a", "b"}
    assert ids("NOT (tags.env IN ('prod', 'dev'))") == {"c"}
    assert ids("attributes.name = 'bot' AND attributes.status = 'OK'") == {"a", "b", "c"}
    assert ids("span.attributes.model = 'big'") == {"a"}
    # Conditions joined by AND hold for one span; span(...) groups address different spans.
    assert ids("span.type = 'TOOL' AND span.attributes.model = 'big'") == set()
    assert ids("span(span.type = 'TOOL') AND span(span.attributes.model = 'big')") == {"a"}
    assert ids("span.name LIKE 'l%' AND span.type = 'LLM'") == {"a", "b", "c"}
    assert ids("span.duration_ns >= 0 AND span.status = 'OK'") == {"a", "b", "c"}


def test_sql_in_values_is_matched_literally(store_uri: str) -> None:
    bot("a", env="' OR 1=1 --")
    bot("b", env="prod")
    assert ids("tags.env = ''' OR 1=1 --'") == {"a"}
    assert ids("tags.env = 'x''; DROP TABLE traces; --'") == set()
    assert len(evaltrace.search_traces(return_type="list")) == 2


def test_order_by_and_pages_cover_everything_once(store_uri: str) -> None:
    traces = corpus(seed=3, count=60)
    get_session().store().write_traces(traces)
    order = ["tags.env DESC", "attributes.execution_time_ms ASC"]

    def sort_key(trace: evaltrace.Trace) -> tuple:
        env = trace.info.tags.get("env")
        duration = trace.info.execution_duration
        # env DESC (missing last), duration ASC (missing last), then trace id (ASC, the
        # direction of the last key).
        return (
            env is None,
            tuple(-b for b in env.encode()) if env is not None else (),
            duration is None,
            duration or 0,
            trace.info.trace_id,
        )

    expected = [t.info.trace_id for t in sorted(traces, key=sort_key)]
    seen: list[str] = []
    token = None
    while True:
        page = evaltrace.search_traces(
            max_results=7, order_by=order, page_token=token, return_type="list", include_spans=False
        )
        seen.extend(t.info.trace_id for t in page)
        assert all(t.data.spans == () for t in page)
        token = page.token
        if token is None:
            break
    assert seen == expected
    everything = evaltrace.search_traces(order_by=order, return_type="list")
    assert [t.info.trace_id for t in everything] == expected
    frame = evaltrace.search_traces(max_results=5, order_by=order)
    assert list(frame["trace_id"]) == expected[:5]
    assert frame.attrs["next_page_token"] is not None


def test_page_token_must_match_the_order(store_uri: str) -> None:
    get_session().store().write_traces(corpus(count=5))
    page = evaltrace.search_traces(max_results=2, return_type="list")
    with pytest.raises(InvalidArgumentError, match="another order_by"):
        evaltrace.search_traces(max_results=2, page_token=page.token, order_by=["tags.env"])


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("tagsenv.=!<>()' ,ANDORNTILKEU%_019-\\")), max_size=40
    )
)
def test_random_filters_raise_only_invalid_filter_error(sqlite_uri: str, text: str) -> None:
    evaltrace.set_tracking_uri(sqlite_uri)
    try:
        evaltrace.search_traces(filter_string=text, return_type="list")
    except InvalidFilterError:
        pass


def test_rare_values_start_from_their_index_and_find_the_same_traces(
    sqlite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite checks side tables per trace (EXISTS): for a value fewer than _RARE rows hold,
    the store adds ``trace_id IN (...)`` from the value index. Results must not change."""
    monkeypatch.setattr(sql_store, "_RARE", 3)
    for question in "abcde":
        bot(question, env="prod", model="big")
    bot("r", env="qa", model="rare")
    bot("s", env="prod", model="small")
    statements: list[tuple[str, object]] = []
    engine = get_session().store().engine  # type: ignore[attr-defined]
    sqlalchemy.event.listen(
        engine, "before_cursor_execute", lambda *args: statements.append((args[2], args[3]))
    )

    def plan(filter_string: str) -> str:
        statements.clear()
        ids(filter_string)
        text, parameters = next((s, p) for s, p in statements if "ORDER BY" in s)
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + text, parameters)
            return "\n".join(row[3] for row in rows)

    cases = {
        "span.attributes.model = 'rare'": {"r"},
        "span.attributes.model = 'big'": set("abcde"),
        "span.attributes.model = 'missing'": set(),
        "tags.env = 'qa'": {"r"},
        "tags.env = 'prod' AND span.attributes.model = 'small'": {"s"},
        "span.type = 'LLM' AND span.attributes.model = 'rare'": {"r"},
        "span.type = 'TOOL' AND span.attributes.model = 'rare'": set(),  # one span must hold both
        "NOT span.attributes.model = 'rare'": set("abcders"),  # some span is not rare
        "span.attributes.model = 'rare' OR tags.env = 'qa'": {"r"},
        "span.attributes.model IN ('rare', 'small')": {"r", "s"},
        "span.attributes.model IN ('rare', 'big')": set("abcder"),
        "tags.env IN ('qa', 'nowhere') AND span.type = 'LLM'": {"r"},
    }
    for filter_string, expected in cases.items():
        assert ids(filter_string) == expected, filter_string
    assert "ix_span_attributes_key_text" in plan("span.attributes.model = 'rare'")
    assert "ix_span_attributes_key_text" in plan("span.attributes.model IN ('rare', 'small')")
    assert "ix_trace_tags_key_value" in plan("tags.env = 'qa'")
    assert "ix_span_attributes_key_text" not in plan("span.attributes.model = 'big'")
    assert "ix_span_attributes_key_text" not in plan("span.attributes.model IN ('rare', 'big')")
    assert "ix_trace_tags_key_value" not in plan("tags.env = 'prod'")


@pytest.mark.parametrize(
    ("filter_string", "order_by", "says"),
    [
        ("NOT " * 1000 + "tags.a = 'b'", None, "nested deeper than 50"),  # was RecursionError
        ("tags.a = '\udc80'", None, "a lone surrogate at 10"),  # was UnicodeEncodeError
        ("tags.`\udc80` = 'x'", None, "a lone surrogate at 6"),
        ("tags.a = 'x\\0'", None, "a NUL character"),  # PostgreSQL refuses NUL in text
        ("attributes.execution_time_ms > 99999999999999999999", None, r"out of range \(64 bits\)"),
        (None, ["tags.a"] * 2000, "at most 20 are allowed"),  # was StoreUnavailableError
        (None, ["tags.`\udc80`"], "lone surrogate"),
    ],
    ids=[
        "1000-nots",
        "surrogate-literal",
        "surrogate-key",
        "nul",
        "big-int",
        "2000-keys",
        "sort-key",
    ],
)
def test_hostile_searches_get_typed_errors_on_both_stores(
    store_uri: str, filter_string: str | None, order_by: list[str] | None, says: str
) -> None:
    bot("q")
    evaltrace.flush()
    with pytest.raises(InvalidArgumentError, match=says):
        evaltrace.search_traces(filter_string=filter_string, order_by=order_by, return_type="list")


def test_every_field_of_the_catalogue_filters_and_sorts_by_its_column(store_uri: str) -> None:
    """One catalogue of trace fields (search/keys.py) feeds the filter keys, the filter SQL
    and the sort keys: each field, and each alias, works in both, on both stores."""
    from evaltrace.search.keys import TRACE_FIELDS
    from evaltrace.store import models

    for question in ("a", "b", "c"):
        bot(question)
    evaltrace.flush()
    first = evaltrace.search_traces(return_type="list")[0]
    equal_to = {"trace_id": (first.info.trace_id, 1), "name": (first.data.spans[0].name, 3)}
    for field in TRACE_FIELDS:
        assert field.column in models.traces.c
        assert (field.sort_column or field.column) in models.traces.c
        for name in (field.key, *field.aliases):
            ordered = evaltrace.search_traces(
                order_by=[f"attributes.{name} DESC"], return_type="list"
            )
            assert len(ordered) == 3, name
            if field.key in equal_to:
                value, count = equal_to[field.key]
                found = evaltrace.search_traces(
                    filter_string=f"attributes.{name} = '{value}'", return_type="list"
                )
                assert len(found) == count, name
