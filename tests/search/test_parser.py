"""The filter language: what parses to what, and what is refused with which message."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaltrace.exceptions import InvalidFilterError
from evaltrace.search import (
    And,
    Comparison,
    Key,
    KeyKind,
    Not,
    Op,
    Or,
    OrderKey,
    SpanGroup,
    parse_filter,
    parse_order_by,
)

A, T = KeyKind.ATTRIBUTE, KeyKind.TAG


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("attributes.name = 'x'", Comparison(Key(A, "name"), Op.EQ, "x")),
        ("trace.status = 'OK'", Comparison(Key(A, "status"), Op.EQ, "OK")),
        ('status != "ERROR"', Comparison(Key(A, "status"), Op.NE, "ERROR")),
        ("attributes.request_id = 'tr-1'", Comparison(Key(A, "trace_id"), Op.EQ, "tr-1")),
        ("timestamp_ms >= 1.5e3", Comparison(Key(A, "timestamp_ms"), Op.GE, 1500.0)),
        ("attributes.execution_time_ms < -2", Comparison(Key(A, "execution_time_ms"), Op.LT, -2)),
        ("tags.`mlflow.user` = 'x'", Comparison(Key(T, "mlflow.user"), Op.EQ, "x")),
        ("tags.`my key` IS NULL", Comparison(Key(T, "my key"), Op.IS_NULL)),
        ("metadata.user IS NOT NULL", Comparison(Key(KeyKind.METADATA, "user"), Op.IS_NOT_NULL)),
        ("tags.env IN ('a', 'b')", Comparison(Key(T, "env"), Op.IN, ("a", "b"))),
        ("tags.env not in ('a')", Comparison(Key(T, "env"), Op.NOT_IN, ("a",))),
        ("name ILIKE '%Bot%'", Comparison(Key(A, "name"), Op.ILIKE, "%Bot%")),
        ("tags.q = 'it''s \\'quoted\\''", Comparison(Key(T, "q"), Op.EQ, "it's 'quoted'")),
        ("feedback.passed = true", Comparison(Key(KeyKind.FEEDBACK, "passed"), Op.EQ, True)),
        ("feedback.score > 0.5", Comparison(Key(KeyKind.FEEDBACK, "score"), Op.GT, 0.5)),
        (
            "expectation.expected_answer IS NOT NULL",
            Comparison(Key(KeyKind.EXPECTATION, "expected_answer"), Op.IS_NOT_NULL),
        ),
        (
            "span.attributes.`gen_ai.request.model` = 'gpt-4o'",
            SpanGroup(
                Comparison(Key(KeyKind.SPAN_ATTRIBUTE, "gen_ai.request.model"), Op.EQ, "gpt-4o")
            ),
        ),
    ],
)
def test_parses(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


def test_precedence_not_binds_tighter_than_and_than_or() -> None:
    a = Comparison(Key(T, "a"), Op.EQ, "1")
    b = Comparison(Key(T, "b"), Op.EQ, "2")
    c = Comparison(Key(T, "c"), Op.EQ, "3")
    assert parse_filter("tags.a = '1' OR tags.b = '2' AND NOT tags.c = '3'") == Or(
        (a, And((b, Not(c))))
    )
    assert parse_filter("(tags.a = '1' OR tags.b = '2') AND tags.c = '3'") == And((Or((a, b)), c))


def test_bare_span_conditions_joined_by_and_are_one_span() -> None:
    llm = Comparison(Key(KeyKind.SPAN, "type"), Op.EQ, "LLM")
    slow = Comparison(Key(KeyKind.SPAN, "duration_ns"), Op.GT, 5)
    env = Comparison(Key(T, "env"), Op.EQ, "prod")
    assert parse_filter("span.type = 'LLM' AND tags.env = 'prod' AND span.duration_ns > 5") == And(
        (SpanGroup(And((llm, slow))), env)
    )
    assert parse_filter("span(span.type = 'LLM') AND span(span.duration_ns > 5)") == And(
        (SpanGroup(llm), SpanGroup(slow))
    )


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        (
            "atributes.name = 'x'",
            "unknown key 'atributes.name' at 0; did you mean 'attributes.name'?",
            0,
        ),
        (
            "attributes.name = 'x' AND",
            "expected a key such as attributes.status or tags.env at 25, found end of filter",
            25,
        ),
        (
            "attributes.status = 'DONE'",
            "attributes.status must be one of OK, ERROR, IN_PROGRESS; got 'DONE' at 18",
            18,
        ),
        ("attributes.timestamp_ms = '5'", "attributes.timestamp_ms is a number; got '5' at 24", 24),
        ("attributes.name = 5", "attributes.name is a string; quote the value 5 at 16", 16),
        (
            "timestamp_ms LIKE 'x%'",
            "comparator LIKE is not supported for attributes.timestamp_ms (number) at 13",
            13,
        ),
        (
            "status IS NULL",
            "comparator IS NULL is not supported for attributes.status (enum) at 7",
            7,
        ),
        ("tags.env = 'prod", "unterminated string starting at 11", 11),
        (
            "tags.env = 'a' tags.x = 'b'",
            "expected AND, OR or the end of the filter at 15, found 'tags.x'",
            15,
        ),
        ("tags.env IN 'a'", "expected '(' after IN at 12, found 'a'", 12),
        ("(tags.env = 'a'", "expected ')' at 15, found end of filter", 15),
        ("tags.env = 'a' ; DROP TABLE traces", "unexpected character ';' at 15", 15),
        ("span(tags.env = 'a')", "span(...) at 0 may only contain span.* conditions", 0),
        ("feedback.ok > true", "true/false cannot be ordered at 12", 12),
        (
            "tags.env",
            "expected a comparator (= != < <= > >= LIKE ILIKE IN NOT IN IS NULL) at 8, "
            "found end of filter",
            8,
        ),
    ],
)
def test_errors_name_the_problem_and_position(text: str, message: str, position: int) -> None:
    with pytest.raises(InvalidFilterError) as caught:
        parse_filter(text)
    assert str(caught.value) == message
    assert caught.value.position == position


def test_sql_in_a_literal_is_just_a_string() -> None:
    assert parse_filter("tags.env = ''' OR 1=1 --'") == Comparison(
        Key(T, "env"), Op.EQ, "' OR 1=1 --"
    )


def test_empty_filter_means_no_filter() -> None:
    assert parse_filter(None) is None and parse_filter("   ") is None


def test_order_by() -> None:
    assert parse_order_by(["attributes.timestamp_ms DESC", "tags.env", "metadata.`a b` asc"]) == (
        OrderKey(Key(A, "timestamp_ms"), descending=True),
        OrderKey(Key(T, "env")),
        OrderKey(Key(KeyKind.METADATA, "a b")),
    )
    with pytest.raises(InvalidFilterError, match="cannot order by span.name"):
        parse_order_by(["span.name"])
    with pytest.raises(InvalidFilterError, match="expected ASC or DESC"):
        parse_order_by(["tags.env SIDEWAYS"])
    with pytest.raises(InvalidFilterError, match="list of strings"):
        parse_order_by("tags.env")  # type: ignore[arg-type]


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(
        alphabet=st.sampled_from(list("atgs.e=!<>()'\"` ,ANDORNTILKE%_0123456789-\\x")), max_size=40
    )
)
def test_random_strings_only_ever_raise_invalid_filter_error(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidFilterError:
        pass


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30))
def test_random_unicode_only_ever_raises_invalid_filter_error(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidFilterError:
        pass


@pytest.mark.parametrize(
    ("reference_spelling", "ours"),
    [
        ("execution_time > 5", "attributes.execution_time_ms > 5"),
        ("run_id = 'run-1'", "tags.`evaltrace.run_id` = 'run-1'"),
        ("attributes.run_id = 'run-1'", "tags.`evaltrace.run_id` = 'run-1'"),
        ("request_metadata.`mlflow.sourceRun` = 'r'", "metadata.`mlflow.sourceRun` = 'r'"),
    ],
)
def test_the_references_bare_keys_mean_what_they_mean_there(
    reference_spelling: str, ours: str
) -> None:
    assert parse_filter(reference_spelling) == parse_filter(ours)
