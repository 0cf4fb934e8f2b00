"""The monitor worker in this process, on SQLite and PostgreSQL: outcomes reconcile exactly,
each (trace, scorer version) is judged once, and the worker says why a trace was not scored."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

import evaltrace
from evaltrace._session import get_session
from evaltrace.entities import AssessmentSourceType, Feedback, TraceData, TraceState
from evaltrace.evaluate.judges import JUDGE_MARKER
from evaltrace.monitoring import MonitorWorker, backfill_scorers, monitor_status
from evaltrace.scorers import Guidelines, ScorerSamplingConfig, delete_scorer
from evaltrace.testing import OpenAIServer
from tests.monitoring.app_scorers import LongerThan, answer_length, broken, limited_once
from tests.monitoring.clock import manual_monitor_clock
from tests.store.test_sql_store import make_trace

pytestmark = pytest.mark.usefixtures("store_uri")


@evaltrace.trace
def app(question: str, env: str) -> str:
    evaltrace.update_current_trace(tags={"env": env})
    return f"answer to {question}"


def run_worker(**options: Any) -> MonitorWorker:
    worker = MonitorWorker(get_session().store(), **options)
    worker.run(threading.Event(), once=True)
    return worker


def outcomes() -> dict[tuple[str, str, int], str]:
    store = get_session().store()
    return dict(store.monitors.outcomes(get_session().experiment_id()))


def feedback_of(trace_id: str) -> list[Feedback]:
    info = evaltrace.get_trace(trace_id).info
    return [a for a in info.assessments if isinstance(a, Feedback)]


def test_every_trace_has_one_outcome_per_scorer_and_is_judged_once() -> None:
    app("before any scorer started", "prod")  # monitoring covers traces from start() on
    evaltrace.flush()
    answer_length.register(name="length").start()
    LongerThan(limit=12).register(name="long").start(
        sampling_config=ScorerSamplingConfig(filter_string="tags.env = 'prod'")
    )
    broken.register().start(sampling_config=ScorerSamplingConfig(sample_rate=0.5))
    answer_length.register(name="idle")  # registered, never started: stopped
    for i in range(40):
        app(f"q{i}", "prod" if i % 2 else "dev")
    evaltrace.flush()
    traces = {t.info.trace_id: t for t in evaltrace.search_traces(return_type="list")}
    first = min(traces.values(), key=lambda t: t.info.request_time).info.trace_id

    worker = run_worker(concurrency=3, batch_size=7)

    found = outcomes()
    assert len(found) == 40 * 4 and not any(key[0] == first for key in found)
    from evaltrace.entities.monitoring import is_sampled

    for trace_id, trace in traces.items():
        if trace_id == first:
            continue
        prod = trace.info.tags["env"] == "prod"
        assert found[(trace_id, "length", 1)] == "scored"
        assert found[(trace_id, "long", 1)] == ("scored" if prod else "filtered_out")
        sampled = is_sampled(trace_id, "broken", 0.5)
        assert found[(trace_id, "broken", 1)] == ("error" if sampled else "sampled_out")
        assert found[(trace_id, "idle", 1)] == "stopped"
        by_name = {f.name: f for f in feedback_of(trace_id)}
        assert by_name["length"].value == len(str(trace.data.response).strip('"'))
        assert by_name["length"].source.source_id == "length@v1"
        assert by_name["length"].source.source_type is AssessmentSourceType.CODE
        assert ("long" in by_name) is prod
        if sampled:
            assert "this scorer always fails" in by_name["broken"].error.error_message
    assert worker.totals.errors == sum(1 for v in found.values() if v == "error")

    run_worker()  # nothing new: no second judgment
    assert sum(len(feedback_of(t)) for t in traces) == sum(
        1 for v in found.values() if v in ("scored", "error")
    )
    status = {s.name: s for s in monitor_status()}
    assert status["length"].counts == {"scored": 40}
    assert status["long"].counts == {"scored": 20, "filtered_out": 20}
    assert status["idle"].counts == {"stopped": 40} and status["length"].lag_seconds == 0


def test_a_trace_in_progress_waits_for_its_root() -> None:
    answer_length.register(name="length").start()
    whole = make_trace(1, request_time=int(time.time() * 1000))
    root, child = whole.data.spans
    part = dataclasses.replace(
        whole,
        info=dataclasses.replace(whole.info, state=TraceState.IN_PROGRESS),
        data=TraceData(spans=(child,)),
    )
    store = get_session().store()
    store.merge_traces([part])  # OTLP: a child's batch came first
    run_worker()
    assert set(outcomes().values()) == {"waiting"}
    assert monitor_status()[0].lag_seconds == 0  # nothing to judge yet
    store.merge_traces([whole])
    run_worker()
    assert list(outcomes().values()) == ["scored"]
    assert [f.value for f in feedback_of(whole.info.trace_id)] == [len(str(root.outputs))]


def test_a_new_version_judges_new_traces_and_old_results_stay() -> None:
    LongerThan(limit=3).register(name="long").start()
    for i in range(3):
        app(f"old{i}", "prod")
    evaltrace.flush()
    run_worker()
    assert LongerThan(limit=100).register(name="long").version == 2
    for i in range(3):
        app(f"new{i}", "prod")
    evaltrace.flush()
    run_worker()
    by_version = Counter((key[2], state) for key, state in outcomes().items())
    assert by_version == {(1, "scored"): 3, (2, "scored"): 3}
    values = sorted(
        (f.source.source_id, f.value)
        for t in evaltrace.search_traces(return_type="list")
        for f in feedback_of(t.info.trace_id)
    )
    assert values == [("long@v1", True)] * 3 + [("long@v2", False)] * 3


def test_a_rate_limited_judgment_is_retried_with_backoff_not_dropped() -> None:
    limited_once.register().start()
    run = uuid.uuid4().hex  # limited_once remembers inputs across tests
    for i in range(4):
        app(f"r{i} {run}", "prod")
    evaltrace.flush()
    clock = manual_monitor_clock()  # a run works until nothing is due: time stands still
    worker = run_worker(backoff_seconds=1.5)
    assert set(outcomes().values()) == {"pending"} and worker.totals.retried == 4
    clock.advance(1.4)
    worker = run_worker(backoff_seconds=1.5)
    assert set(outcomes().values()) == {"pending"} and worker.totals.judged == 0  # not due yet
    clock.advance(0.2)
    worker = run_worker(backoff_seconds=1.5)
    assert set(outcomes().values()) == {"scored"} and worker.totals.judged == 4
    assert all(len(feedback_of(key[0])) == 1 for key in outcomes())


def test_a_budget_pauses_the_scorer_and_drops_nothing() -> None:
    answer_length.register(name="length").start(
        sampling_config=ScorerSamplingConfig(max_per_hour=3)
    )
    for i in range(5):
        app(f"b{i}", "prod")
    evaltrace.flush()
    run_worker()
    assert Counter(outcomes().values()) == {"scored": 3, "pending": 2}
    (status,) = monitor_status()
    assert status.paused_by_budget and status.judged_last_hour == 3 and status.lag_seconds > 0
    answer_length.register(name="length").update(
        sampling_config=ScorerSamplingConfig(max_per_hour=10)
    )
    run_worker()
    assert Counter(outcomes().values()) == {"scored": 5}


def test_an_expired_claim_retaken_by_another_worker_is_finished_once() -> None:
    from evaltrace.entities.monitoring import FinishedJob, JobOutcome

    answer_length.register(name="length").start()
    for i in range(3):
        app(f"c{i}", "prod")
    evaltrace.flush()
    monitors, experiment = get_session().store().monitors, get_session().experiment_id()
    clock = manual_monitor_clock()
    assert monitors.enqueue(experiment) == 3
    first = monitors.claim(experiment, "token-a", limit=10, claim_seconds=0.05)
    assert len(first) == 3
    assert monitors.claim(experiment, "token-b", limit=10, claim_seconds=60) == []  # held
    clock.advance(0.1)
    second = monitors.claim(experiment, "token-b", limit=10, claim_seconds=60)
    assert sorted(j.trace_id for j in second) == sorted(j.trace_id for j in first)
    assert all(job.attempts == 2 for job in second)

    def results(jobs: list[Any]) -> list[FinishedJob]:
        return [
            FinishedJob(
                job,
                JobOutcome.SCORED,
                value_num=1.0,
                assessments=(
                    evaltrace.annotate.api.prepare_assessment(
                        Feedback, {"trace_id": job.trace_id, "name": "length", "value": 1}
                    ),
                ),
            )
            for job in jobs
        ]

    assert monitors.finish("token-a", results(first)) == 0  # too late: not its claim any more
    assert monitors.finish("token-b", results(second)) == 3
    assert monitors.finish("token-b", results(second)) == 0  # finishing twice writes nothing
    assert all(len(feedback_of(j.trace_id)) == 1 for j in second)


def test_a_scorer_deleted_and_registered_again_judges_afresh() -> None:
    answer_length.register(name="length").start()
    app("q", "prod")
    evaltrace.flush()
    run_worker()
    delete_scorer(name="length")
    assert outcomes() == {}  # its jobs went; its Feedback stays on the trace
    answer_length.register(name="length").start()
    backfill_scorers(scorers=["length"])
    run_worker()
    (trace_id,) = {key[0] for key in outcomes()}
    assert list(outcomes().values()) == ["scored"] and len(feedback_of(trace_id)) == 2


def test_backfill_judges_past_traces_once() -> None:
    for i in range(6):
        app(f"p{i}", "prod" if i < 4 else "dev")
    evaltrace.flush()
    registered = answer_length.register(name="length")  # not started: backfill still works
    since = int(time.time() * 1000) - 60_000
    assert (
        backfill_scorers(scorers=[registered], start_time=since, filter_string="tags.env = 'prod'")
        == 4
    )
    run_worker()
    assert Counter(outcomes().values()) == {"scored": 4}
    assert backfill_scorers(scorers=["length"]) == 6  # every trace; the 4 judged stay as they are
    run_worker()
    assert Counter(outcomes().values()) == {"scored": 6}
    assert sum(len(feedback_of(key[0])) for key in outcomes()) == 6


def verdicts(body: dict[str, Any]) -> str | None:
    system = body.get("messages", [{}])[0].get("content", "")
    if JUDGE_MARKER not in system:
        return None
    polite = "please help" in body["messages"][1]["content"]
    return json.dumps({"result": "yes" if polite else "no", "rationale": f"polite: {polite}"})


@pytest.fixture
def judge_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIServer]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-worker-environment")  # never stored
    with OpenAIServer(responder=verdicts) as server:
        yield server


def test_an_llm_judge_runs_in_the_worker_untraced(judge_server: OpenAIServer) -> None:
    judge = Guidelines(name="polite", guidelines="Be polite", base_url=judge_server.base_url)
    judge.register().start()
    app("please help", "prod")
    app("help", "prod")
    evaltrace.flush()
    run_worker()
    traces = evaltrace.search_traces(return_type="list")
    assert len(traces) == 2  # the judge's own calls are not traces of the experiment
    verdict = {t.data.spans[0].inputs["question"]: feedback_of(t.info.trace_id)[0] for t in traces}
    assert {question: f.value for question, f in verdict.items()} == {
        "please help": "yes",
        "help": "no",
    }
    assert all(f.source.source_type is AssessmentSourceType.LLM_JUDGE for f in verdict.values())
    assert all(f.source.source_id == "polite@v1" for f in verdict.values())
    assert len(judge_server.requests) == 2


def test_a_blank_filter_string_judges_every_trace() -> None:
    """A filter of only spaces parses to no filter: the worker used to hand None to the
    filter compiler and fail on every batch."""
    answer_length.register(name="length").start(
        sampling_config=ScorerSamplingConfig(filter_string="   ")
    )
    for i in range(3):
        app(f"q{i}", "prod")
    evaltrace.flush()
    run_worker()
    assert sorted(outcomes().values()) == ["scored"] * 3
