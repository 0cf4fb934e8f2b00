"""Bad input everywhere a user can type: random arguments to the public API raise typed errors only.

Each call either works or raises an ``EvaltraceError`` (anything else fails the test, and
hypothesis shrinks it to the smallest input). Writes that fail leave nothing behind.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evaltrace
from evaltrace import _config
from evaltrace._session import get_session
from evaltrace.datasets import create_dataset, get_dataset, search_datasets
from evaltrace.exceptions import EvaltraceError

# Text with everything in it: NUL, lone surrogates, right-to-left marks, very long runs.
any_text = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.sampled_from(["", " ", "\x00", "a" * 5000, "name = 'x'", "tr-", "🙂", "\udcff"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
    st.binary(max_size=8),
    st.builds(object),
)
hostile = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner),
        st.dictionaries(st.one_of(any_text, st.integers(), st.none()), inner, max_size=3),
    ),
    max_leaves=6,
)
fuzz = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    report_multiple_bugs=False,
)


def typed_errors_only(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except EvaltraceError:
        return None


@pytest.fixture
def trace_id() -> str:
    @evaltrace.trace
    def answer(question: str) -> str:
        return "42"

    answer("what?")
    assert evaltrace.flush(timeout=30)
    found = evaltrace.get_last_active_trace_id()
    assert found is not None
    return found


def assessment_count() -> int:
    uri = evaltrace.get_tracking_uri()
    with sqlite3.connect(uri.removeprefix("sqlite:///")) as connection:
        return int(connection.execute("SELECT count(*) FROM assessments").fetchone()[0])


def maybe(strategy: st.SearchStrategy[Any], good: Any) -> st.SearchStrategy[Any]:
    """Mostly hostile, sometimes the good value (so later arguments get checked too)."""
    return st.one_of(st.just(good), strategy)


@fuzz
@given(data=st.data())
def test_log_expectation_and_feedback(trace_id: str, data: st.DataObject) -> None:
    before = assessment_count()
    expectation = typed_errors_only(
        evaltrace.log_expectation,
        trace_id=data.draw(maybe(hostile, trace_id)),
        name=data.draw(maybe(hostile, "expected")),
        value=data.draw(hostile),
        source=data.draw(maybe(hostile, None)),
        metadata=data.draw(maybe(hostile, None)),
        span_id=data.draw(maybe(hostile, None)),
    )
    feedback = typed_errors_only(
        evaltrace.log_feedback,
        trace_id=data.draw(maybe(hostile, trace_id)),
        name=data.draw(maybe(hostile, "judged")),
        value=data.draw(hostile),
        rationale=data.draw(maybe(hostile, None)),
        source=data.draw(maybe(hostile, None)),
        metadata=data.draw(maybe(hostile, None)),
        error=data.draw(maybe(hostile, None)),
    )
    written = (expectation is not None) + (feedback is not None)
    assert assessment_count() == before + written  # a rejected call wrote nothing


@fuzz
@given(records=hostile)
def test_bulk_assessments_are_all_or_nothing(trace_id: str, records: Any) -> None:
    before = assessment_count()
    logged = typed_errors_only(evaltrace.log_expectations, records)
    assert assessment_count() == before + (len(logged) if logged is not None else 0)


@fuzz
@given(data=st.data())
def test_assessment_lookups_and_edits(trace_id: str, data: st.DataObject) -> None:
    tid = data.draw(maybe(hostile, trace_id))
    aid = data.draw(hostile)
    typed_errors_only(evaltrace.get_assessment, tid, aid)
    typed_errors_only(evaltrace.get_assessment_history, tid, data.draw(hostile))
    typed_errors_only(evaltrace.update_assessment, tid, aid, value=data.draw(hostile))
    typed_errors_only(
        evaltrace.override_feedback, trace_id=tid, assessment_id=aid, value=data.draw(hostile)
    )
    typed_errors_only(evaltrace.delete_assessment, tid, aid)


@fuzz
@given(data=st.data())
def test_search_and_get(trace_id: str, data: st.DataObject) -> None:
    typed_errors_only(
        evaltrace.search_traces,
        experiment_ids=data.draw(maybe(hostile, None)),
        filter_string=data.draw(maybe(hostile, None)),
        max_results=data.draw(maybe(hostile, 10)),
        order_by=data.draw(maybe(hostile, None)),
        page_token=data.draw(maybe(hostile, None)),
        return_type="list",
        include_spans=data.draw(maybe(hostile, True)),
    )
    typed_errors_only(evaltrace.get_trace, data.draw(hostile))
    typed_errors_only(evaltrace.get_experiment_by_name, data.draw(hostile))
    typed_errors_only(evaltrace.get_evaluation_run, data.draw(hostile))
    typed_errors_only(evaltrace.search_evaluation_runs, max_results=data.draw(hostile))


@fuzz
@given(data=st.data())
def test_tracing_api(data: st.DataObject) -> None:
    def app() -> str:
        typed_errors_only(
            evaltrace.update_current_trace,
            tags=data.draw(maybe(hostile, None)),
            metadata=data.draw(maybe(hostile, None)),
            request_preview=data.draw(maybe(hostile, None)),
            response_preview=data.draw(maybe(hostile, None)),
            client_request_id=data.draw(maybe(hostile, None)),
        )
        return "done"

    decorated = typed_errors_only(
        evaltrace.trace,
        name=data.draw(maybe(hostile, None)),
        span_type=data.draw(maybe(hostile, "CHAIN")),
        attributes=data.draw(maybe(hostile, None)),
    )
    if decorated is not None:
        assert decorated(app)() == "done"  # the app's own result, whatever it traced
    span = typed_errors_only(
        evaltrace.start_span,
        name=data.draw(maybe(hostile, "step")),
        span_type=data.draw(maybe(hostile, "TOOL")),
        attributes=data.draw(maybe(hostile, None)),
    )
    if span is not None:
        with span as live:
            typed_errors_only(live.set_attribute, data.draw(hostile), data.draw(hostile))
            typed_errors_only(live.set_attributes, data.draw(hostile))
            typed_errors_only(live.set_inputs, data.draw(hostile))
            typed_errors_only(live.set_outputs, data.draw(hostile))
            typed_errors_only(live.add_event, data.draw(maybe(hostile, "e")), data.draw(hostile))
            typed_errors_only(live.set_status, data.draw(hostile), data.draw(hostile))
    assert evaltrace.flush(timeout=30)


@fuzz
@given(data=st.data())
def test_experiments_and_settings(data: st.DataObject) -> None:
    typed_errors_only(evaltrace.set_experiment, experiment_name=data.draw(hostile))
    typed_errors_only(evaltrace.set_experiment, experiment_id=data.draw(hostile))
    field = data.draw(st.sampled_from(sorted(_config.Settings.__dataclass_fields__)))
    if field == "tracking_uri":
        return  # a random but valid URI would create a database wherever it points
    before = get_session().settings
    try:
        typed_errors_only(evaltrace.configure, **{field: data.draw(hostile)})
        typed_errors_only(get_session().configure, **{data.draw(any_text): 1})
    finally:
        get_session().configure(**dataclasses.asdict(before))


@fuzz
@given(data=st.data())
def test_datasets_api(data: st.DataObject) -> None:
    dataset = typed_errors_only(
        create_dataset, data.draw(maybe(hostile, "fuzz")), tags=data.draw(maybe(hostile, None))
    )
    if dataset is None:
        dataset = get_dataset("fuzz") if search_datasets() else create_dataset("fuzz")
    versions = dataset.version
    merged = typed_errors_only(dataset.merge_records, data.draw(hostile))
    if merged is None:
        assert get_dataset(dataset_id=dataset.dataset_id).version == versions  # nothing written
    typed_errors_only(dataset.delete_records, data.draw(hostile))
    typed_errors_only(get_dataset, data.draw(hostile))
    typed_errors_only(get_dataset, dataset_id=data.draw(hostile))
    typed_errors_only(get_dataset, "fuzz", version=data.draw(hostile))
    typed_errors_only(search_datasets, filter_string=data.draw(hostile))
    typed_errors_only(search_datasets, max_results=data.draw(hostile))


@fuzz
@given(data=st.data())
def test_evaluate(data: st.DataObject) -> None:
    typed_errors_only(
        evaltrace.evaluate,
        data=data.draw(hostile),
        predict_fn=data.draw(maybe(hostile, None)),
        scorers=data.draw(maybe(hostile, ())),
        run_name=data.draw(maybe(hostile, None)),
        max_workers=data.draw(maybe(hostile, None)),
    )
