"""Expectations and feedback on real traces, with sources, history and search."""

from __future__ import annotations

import pytest

import evaltrace
from evaltrace import AssessmentSource, AssessmentSourceType, Expectation, Feedback
from evaltrace.exceptions import AssessmentNotFoundError, InvalidArgumentError, TraceNotFoundError
from tests.conftest import ALL_STORE_KINDS

STORE_KINDS = ALL_STORE_KINDS  # every test asking for store_uri runs over HTTP too


@evaltrace.trace
def bot(question: str) -> str:
    with evaltrace.start_span("retrieve"):
        pass
    return question.upper()


def new_trace(question: str = "q") -> str:
    bot(question)
    trace_id = evaltrace.get_last_active_trace_id()
    assert trace_id is not None
    return trace_id


def assessment_rows(store_uri: str) -> int:
    """Assessments in the store, counted by the store (through the server too)."""
    from evaltrace._session import get_session

    return get_session().store(store_uri).browse.row_counts()["assessments"]


def test_log_expectation_and_feedback_round_trip(store_uri: str) -> None:
    evaltrace.configure(user="alice")
    trace_id = new_trace()  # still in the export queue: logging flushes it first
    expectation = evaltrace.log_expectation(
        trace_id=trace_id,
        name="key_information",
        value={"must_mention": ["30 days"], "tone": "helpful"},
        metadata={"batch": 3},
    )
    judge = AssessmentSource(source_type="LLM_JUDGE", source_id="gpt-4o")
    feedback = evaltrace.log_feedback(
        trace_id=trace_id, name="relevance", value=0.9, rationale="on topic", source=judge
    )
    assert expectation.assessment_id.startswith("a-")
    assert expectation.source == AssessmentSource(
        source_type=AssessmentSourceType.HUMAN, source_id="alice"
    )
    assert feedback.source.source_type is AssessmentSourceType.LLM_JUDGE
    trace = evaltrace.get_trace(trace_id)
    assert trace.info.assessments == (expectation, feedback)
    assert trace.search_assessments(type="expectation") == [expectation]
    assert trace.search_assessments(name="relevance") == [feedback]
    assert evaltrace.get_assessment(trace_id, feedback.assessment_id) == feedback
    assert evaltrace.Trace.from_dict(trace.to_dict()) == trace
    frame = evaltrace.search_traces()
    assert [a["assessment_name"] for a in frame.iloc[0]["assessments"]] == [
        "key_information",
        "relevance",
    ]


def test_defaults_feedback_is_code_and_error_instead_of_value(store_uri: str) -> None:
    trace_id = new_trace()
    failed = evaltrace.log_feedback(
        trace_id=trace_id, name="judge", error=TimeoutError("slow judge")
    )
    assert failed.value is None and failed.error is not None
    assert failed.error.error_code == "TimeoutError" and failed.error.error_message == "slow judge"
    assert failed.source.source_type is AssessmentSourceType.CODE
    assert evaltrace.get_assessment(trace_id, failed.assessment_id) == failed


def test_span_level_assessment(store_uri: str) -> None:
    trace_id = new_trace()
    span = evaltrace.get_trace(trace_id).search_spans(name="retrieve")[0]
    logged = evaltrace.log_feedback(
        trace_id=trace_id, name="useful", value=True, span_id=span.span_id
    )
    assert evaltrace.get_trace(trace_id).search_assessments(span_id=span.span_id) == [logged]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"trace_id": "tr-nope"}, TraceNotFoundError, "trace_id 'tr-nope' not found"),
        (
            {"span_id": "ffffffffffffffff"},
            InvalidArgumentError,
            "span_id 'ffffffffffffffff' is not a span",
        ),
        ({"name": ""}, InvalidArgumentError, "name must be a non-empty string"),
        ({"name": "n" * 251}, InvalidArgumentError, "name is longer than 250"),
        ({"value": {1, 2}}, InvalidArgumentError, "value must be a JSON value"),
        ({"value": object()}, InvalidArgumentError, "value must be a JSON value"),
        ({"value": float("nan")}, InvalidArgumentError, "value must be a JSON value"),
        ({"value": None}, InvalidArgumentError, "value of an expectation cannot be None"),
        (
            {"source": "ROBOT"},
            InvalidArgumentError,
            "source_type must be one of HUMAN, LLM_JUDGE, CODE",
        ),
        (
            {"metadata": {1: "x"}},
            InvalidArgumentError,
            "metadata must be a mapping with string keys",
        ),
    ],
)
def test_bad_input_raises_typed_errors_and_writes_nothing(
    store_uri: str, kwargs: dict, error: type, message: str
) -> None:
    trace_id = new_trace()
    arguments = {"trace_id": trace_id, "name": "expected", "value": "x", **kwargs}
    with pytest.raises(error, match=message):
        evaltrace.log_expectation(**arguments)
    assert assessment_rows(store_uri) == 0


def test_feedback_needs_a_value_or_an_error() -> None:
    with pytest.raises(InvalidArgumentError, match="needs a value or an error"):
        evaltrace.log_feedback(trace_id=new_trace(), name="x")


def test_override_feedback_keeps_history(store_uri: str) -> None:
    trace_id = new_trace()
    first = evaltrace.log_feedback(trace_id=trace_id, name="correct", value=False)
    reviewer = AssessmentSource(source_type="HUMAN", source_id="bob")
    second = evaltrace.override_feedback(
        trace_id=trace_id,
        assessment_id=first.assessment_id,
        value=True,
        rationale="judge was wrong",
        source=reviewer,
    )
    assert second.overrides == first.assessment_id and second.valid
    history = evaltrace.get_assessment_history(trace_id, "correct")
    assert [(a.assessment_id, a.value, a.valid) for a in history] == [
        (first.assessment_id, False, False),
        (second.assessment_id, True, True),
    ]
    trace = evaltrace.get_trace(trace_id)
    assert trace.search_assessments(name="correct") == [second]
    assert len(trace.search_assessments(name="correct", valid_only=False)) == 2
    with pytest.raises(InvalidArgumentError, match="already overridden"):
        evaltrace.override_feedback(trace_id=trace_id, assessment_id=first.assessment_id, value=1)
    # Deleting the correction brings the original back.
    evaltrace.delete_assessment(trace_id, second.assessment_id)
    restored = evaltrace.get_assessment(trace_id, first.assessment_id)
    assert restored.valid
    with pytest.raises(AssessmentNotFoundError):
        evaltrace.get_assessment(trace_id, second.assessment_id)


def test_a_version_made_in_the_same_millisecond_follows_the_one_it_overrides(
    store_uri: str,
) -> None:
    """Creation times tie within a millisecond; the history must still list the overridden
    version first (it was ordered by the random id next, so CI saw the newer one first)."""
    from dataclasses import replace

    from evaltrace._session import get_session

    trace_id = new_trace()
    old = evaltrace.log_feedback(trace_id=trace_id, name="score", value=0.2, rationale="meh")
    for new_id in ("a-" + "0" * 30, "z-" + "f" * 30):  # sorts before, then after, the old id
        current = evaltrace.get_assessment_history(trace_id, "score")[-1]
        newer = replace(
            current,
            assessment_id=new_id,
            overrides=current.assessment_id,
            rationale=f"after {current.rationale}",
            create_time_ms=old.create_time_ms,
            last_update_time_ms=old.create_time_ms,
        )
        get_session().store(store_uri).supersede_assessment(current, newer)
    history = evaltrace.get_assessment_history(trace_id, "score")
    assert [(a.rationale, a.valid) for a in history] == [
        ("meh", False),
        ("after meh", False),
        ("after after meh", True),
    ]


def test_updates_keep_history_for_expectations_and_feedback(store_uri: str) -> None:
    """An update is a new version overriding the old one, for feedback as for expectations:
    the judgment before the change stays in the history (it used to be lost in place)."""
    trace_id = new_trace()
    expected = evaltrace.log_expectation(trace_id=trace_id, name="answer", value="A")
    newer = evaltrace.update_assessment(trace_id, expected.assessment_id, value="B")
    assert isinstance(newer, Expectation) and newer.overrides == expected.assessment_id
    assert [a.value for a in evaltrace.get_assessment_history(trace_id, "answer")] == ["A", "B"]

    judged = evaltrace.log_feedback(trace_id=trace_id, name="score", value=0.2, rationale="meh")
    changed = evaltrace.update_assessment(trace_id, judged.assessment_id, rationale="fine")
    assert isinstance(changed, Feedback) and changed.overrides == judged.assessment_id
    assert (changed.value, changed.rationale) == (0.2, "fine")
    history = evaltrace.get_assessment_history(trace_id, "score")
    assert [(a.rationale, a.valid) for a in history] == [("meh", False), ("fine", True)]
    # The reference's form: the new version as an assessment.
    again = evaltrace.update_assessment(
        trace_id, changed.assessment_id, Feedback(name="score", value=0.9, rationale="better")
    )
    assert (again.value, again.rationale, again.overrides) == (0.9, "better", changed.assessment_id)
    with pytest.raises(
        InvalidArgumentError, match=r"update it with Feedback\(\.\.\.\), not Expectation"
    ):
        evaltrace.update_assessment(trace_id, again.assessment_id, Expectation(name="s", value=1))
    with pytest.raises(InvalidArgumentError, match="rationale applies to feedback only"):
        evaltrace.update_assessment(trace_id, newer.assessment_id, rationale="x")
    with pytest.raises(InvalidArgumentError, match="is an expectation"):
        evaltrace.override_feedback(trace_id=trace_id, assessment_id=newer.assessment_id, value=1)


def test_bulk_logging_is_one_transaction(store_uri: str) -> None:
    traces = [new_trace(f"q{i}") for i in range(30)]
    logged = evaltrace.log_expectations(
        [{"trace_id": t, "name": "expected", "value": i} for i, t in enumerate(traces)]
    )
    assert len(logged) == 30
    with pytest.raises(TraceNotFoundError, match="record 2: trace_id 'tr-missing' not found"):
        evaltrace.log_feedbacks(
            [
                {"trace_id": traces[0], "name": "ok", "value": True},
                {"trace_id": traces[1], "name": "ok", "value": True},
                {"trace_id": "tr-missing", "name": "ok", "value": True},
            ]
        )
    with pytest.raises(InvalidArgumentError, match="record 1: value must be a JSON value"):
        evaltrace.log_feedbacks(
            [
                {"trace_id": traces[0], "name": "ok", "value": 1},
                {"trace_id": traces[0], "name": "ok", "value": {1}},
            ]
        )
    with pytest.raises(InvalidArgumentError, match="record 0: unknown field"):
        evaltrace.log_expectations(
            [{"trace_id": traces[0], "name": "x", "value": 1, "rationale": "no"}, {}]
        )
    assert assessment_rows(store_uri) == 30


def test_search_by_expectations_and_feedback(store_uri: str) -> None:
    a, b, c = new_trace("a"), new_trace("b"), new_trace("c")
    evaltrace.log_expectation(trace_id=a, name="expected_answer", value="A")
    evaltrace.log_feedback(trace_id=a, name="correctness", value=False)
    first_b = evaltrace.log_feedback(trace_id=b, name="correctness", value=False)
    evaltrace.override_feedback(trace_id=b, assessment_id=first_b.assessment_id, value=True)
    evaltrace.log_feedback(trace_id=c, name="score", value=0.8)

    def found(filter_string: str) -> set[str]:
        return {
            t.info.trace_id
            for t in evaltrace.search_traces(filter_string=filter_string, return_type="list")
        }

    assert found("feedback.correctness = false") == {a}  # b's false was overridden
    assert found("feedback.correctness = true") == {b}
    assert found("expectation.expected_answer IS NOT NULL") == {a}
    assert found("expectation.expected_answer IS NULL") == {b, c}
    assert found("feedback.score > 0.5") == {c}
    assert found("feedback.score > 0.5 OR expectation.expected_answer = 'A'") == {a, c}


def test_keys_that_are_the_same_in_json_are_refused(store_uri: str) -> None:
    """{True: "a", "true": "b"} was stored as JSON text with the key twice and read back one
    value: now refused, naming both keys, and nothing is written."""
    trace_id = new_trace()
    with pytest.raises(InvalidArgumentError, match="keys True and 'true', which are the same"):
        evaltrace.log_expectation(trace_id=trace_id, name="dup", value={True: "a", "true": "b"})
    with pytest.raises(InvalidArgumentError, match="keys 1 and '1'"):
        evaltrace.log_feedback(trace_id=trace_id, name="dup", value={"x": [{1: 0, "1": 1}]})
    assert evaltrace.get_trace(trace_id).info.assessments == ()
