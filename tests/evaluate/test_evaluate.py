"""evaluate(): traces, feedback, metrics, stored runs, comparisons, judges."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

import evaltrace
from evaltrace import Feedback, TraceState
from evaltrace.datasets import create_dataset
from evaltrace.evaluate.judges import JUDGE_MARKER
from evaltrace.exceptions import EvaluationRunNotFoundError, InvalidArgumentError
from evaltrace.scorers import Correctness, Guidelines, contains_all, exact_match, scorer
from evaltrace.testing import OpenAIServer
from tests.conftest import ALL_STORE_KINDS

STORE_KINDS = ALL_STORE_KINDS  # every test asking for store_uri runs over HTTP too

RECORDS = [
    {
        "inputs": {"question": "refund?"},
        "expectations": {"expected_response": "30 DAYS", "must_mention": ["30"]},
    },
    {
        "inputs": {"question": "shipping?"},
        "expectations": {"expected_response": "5 DAYS", "must_mention": ["7"]},
    },
    {"inputs": {"question": "boom"}, "expectations": {"expected_response": "x"}},
]

ANSWERS = {"refund?": "30 days", "shipping?": "5 days"}


def bot(question: str) -> str:
    if question == "boom":
        raise RuntimeError("model down")
    return ANSWERS[question]


@scorer
def length(outputs: str) -> int:
    return len(outputs)


@scorer(name="tone")
def tone(outputs: str) -> str:
    return "friendly" if "days" in outputs else "curt"


@scorer
def picky(inputs: dict) -> bool:
    if inputs["question"] == "shipping?":
        raise ValueError("cannot judge shipping")
    return True


@scorer
def two_judgments(outputs: str) -> list:
    from evaltrace import AssessmentSource

    source = AssessmentSource(source_type="CODE", source_id="two")
    return [
        Feedback(
            assessment_id="",
            trace_id="",
            name="has_digits",
            value=any(c.isdigit() for c in outputs),
            source=source,
            create_time_ms=0,
            last_update_time_ms=0,
        ),
        Feedback(
            assessment_id="",
            trace_id="",
            name="upper",
            value=outputs.isupper(),
            rationale="case",
            source=source,
            create_time_ms=0,
            last_update_time_ms=0,
        ),
    ]


def test_evaluate_runs_traces_scores_and_stores(store_uri: str) -> None:
    case_insensitive = scorer(
        lambda outputs, expectations: outputs.upper() == expectations["expected_response"]
    )
    result = evaltrace.evaluate(
        data=RECORDS,
        predict_fn=bot,
        model_id="bot-v1",
        scorers=[
            exact_match,
            contains_all,
            length,
            tone,
            picky,
            two_judgments,
            scorer(name="ci")(case_insensitive.fn),
        ],
    )
    metrics = result.metrics
    assert metrics["exact_match/score"] == 0.0 and metrics["ci/score"] == 1.0
    assert metrics["contains_all/score"] == 0.5 and metrics["contains_all/mean"] == 0.5
    assert metrics["length/score"] == pytest.approx((7 + 6) / 2)
    assert metrics["tone/count/friendly"] == 2 and "tone/score" not in metrics
    assert metrics["picky/error_count"] == 1 and metrics["picky/score"] == 1.0
    assert metrics["has_digits/score"] == 1.0 and metrics["upper/score"] == 0.0
    assert metrics["predict/error_count"] == 1

    table = result.tables["eval_results_table"]
    assert result.result_df is table and len(table) == 3
    assert list(table["inputs.question"]) == ["refund?", "shipping?", "boom"]
    assert table.loc[0, "expectations.expected_response"] == "30 DAYS"
    assert table.loc[0, "exact_match/value"] is False and table.loc[0, "exact_match/score"] == 0.0
    assert table.loc[1, "picky/error"] == "ValueError: cannot judge shipping"
    assert table.loc[2, "error"] == "RuntimeError: model down"

    # Every record is a trace tagged with the run; every judgment is Feedback on it.
    traces = evaltrace.search_traces(
        filter_string=f"tags.`evaltrace.run_id` = '{result.run_id}'", return_type="list"
    )
    assert len(traces) == 3
    by_question = {t.data.spans[0].inputs["question"]: t for t in traces}
    assert by_question["boom"].info.state is TraceState.ERROR
    feedback = {f.name: f for f in by_question["refund?"].search_assessments(type="feedback")}
    assert feedback["exact_match"].value is False and feedback["length"].value == 7
    assert feedback["exact_match"].source.source_id == "exact_match"
    assert (
        by_question["shipping?"].search_assessments(name="picky")[0].error.error_code
        == "ValueError"
    )
    assert evaltrace.search_traces(filter_string="feedback.contains_all = 1.0", return_type="list")[
        0
    ].info.trace_id == (by_question["refund?"].info.trace_id)

    run = evaltrace.get_evaluation_run(result.run_id)
    assert run.model_id == "bot-v1" and run.row_count == 3 and run.metrics == metrics
    assert run.scorers == [
        "exact_match",
        "contains_all",
        "length",
        "tone",
        "picky",
        "two_judgments",
        "ci",
    ]
    assert [r.run_id for r in evaltrace.search_evaluation_runs(model_id="bot-v1")] == [
        result.run_id
    ]
    with pytest.raises(EvaluationRunNotFoundError):
        evaltrace.get_evaluation_run("run-missing")


def test_dataset_is_pinned_and_compare_runs(store_uri: str) -> None:
    dataset = create_dataset("qa")
    dataset.merge_records(RECORDS[:2])
    first = evaltrace.evaluate(data=dataset, predict_fn=bot, scorers=[contains_all])
    run = evaltrace.get_evaluation_run(first.run_id)
    assert (run.dataset_id, run.dataset_version, run.dataset_digest) == (
        dataset.dataset_id,
        1,
        dataset.digest,
    )

    ANSWERS["shipping?"] = "7 days"
    ANSWERS["refund?"] = "one month"
    try:
        second = evaltrace.evaluate(data=dataset, predict_fn=bot, scorers=[contains_all])
    finally:
        ANSWERS.update({"refund?": "30 days", "shipping?": "5 days"})
    comparison = evaltrace.compare_runs(first, second.run_id)
    assert list(comparison.regressions["inputs"]) == [{"question": "refund?"}]
    assert list(comparison.improvements["inputs"]) == [{"question": "shipping?"}]
    assert comparison.metric_deltas == {"contains_all/score": 0.0}


def test_answer_sheet_mode_on_existing_traces(store_uri: str) -> None:
    @evaltrace.trace
    def production(question: str) -> str:
        return ANSWERS[question]

    production("refund?")
    production("shipping?")
    traces = evaltrace.search_traces(return_type="list")
    result = evaltrace.evaluate(data=evaltrace.search_traces(), scorers=[length])
    assert result.metrics["length/score"] == pytest.approx((7 + 6) / 2)
    for trace in traces:  # feedback lands on the production traces themselves
        (feedback,) = evaltrace.get_trace(trace.info.trace_id).search_assessments(name="length")
        assert feedback.value == len(trace.data.spans[0].outputs)
    sheet = [{"inputs": {"q": "a"}, "outputs": "A", "expectations": {"expected_response": "A"}}]
    assert evaltrace.evaluate(data=sheet, scorers=[exact_match]).metrics["exact_match/score"] == 1.0


def test_bad_input_fails_before_anything_runs(store_uri: str) -> None:
    with pytest.raises(
        InvalidArgumentError, match=r"record 1: inputs \['query'\] do not fit predict_fn"
    ):
        evaltrace.evaluate(
            data=[RECORDS[0], {"inputs": {"query": "x"}}], predict_fn=bot, scorers=[length]
        )
    with pytest.raises(InvalidArgumentError, match="record 0 has no outputs"):
        evaltrace.evaluate(data=RECORDS, scorers=[length])
    with pytest.raises(InvalidArgumentError, match="scorers must be Scorer objects"):
        evaltrace.evaluate(data=RECORDS, predict_fn=bot, scorers=[len])
    with pytest.raises(InvalidArgumentError, match="unknown field 'expected' in record 0"):
        evaltrace.evaluate(data=[{"inputs": {"question": "x"}, "expected": {}}], predict_fn=bot)
    with pytest.raises(InvalidArgumentError, match="not among"):
        scorer(lambda answer: 1)
    assert evaltrace.search_traces(return_type="list") == []


# -- LLM judges against the local OpenAI-compatible server ------------------------------------


def verdicts(body: dict) -> str | None:
    system = body.get("messages", [{}])[0].get("content", "")
    if JUDGE_MARKER not in system:
        return None
    question = body["messages"][1]["content"]
    good = "Answer: 30 days" in question or 'Answer: "30 days"' in question
    return json.dumps({"result": "yes" if good else "no", "rationale": f"checked: {good}"})


@pytest.fixture
def judge_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(responder=verdicts) as server:
        yield server


def test_llm_judges(store_uri: str, judge_server: OpenAIServer) -> None:
    correctness = Correctness(name="factual_accuracy", base_url=judge_server.base_url, api_key="k")
    english = Guidelines(
        name="is_english",
        guidelines="Answer in English",
        base_url=judge_server.base_url,
        api_key="k",
    )
    result = evaltrace.evaluate(data=RECORDS[:2], predict_fn=bot, scorers=[correctness, english])
    table = result.result_df
    assert list(table["factual_accuracy/value"]) == ["yes", "no"]
    assert result.metrics["factual_accuracy/score"] == 0.5
    assert table.loc[0, "factual_accuracy/rationale"] == "checked: True"
    trace = evaltrace.get_trace(table.loc[0, "trace_id"])
    (judged,) = trace.search_assessments(name="factual_accuracy")
    assert (
        judged.source.source_type.value == "LLM_JUDGE" and judged.source.source_id == "gpt-4o-mini"
    )
    # The judges' own calls are not traces of the user's experiment (they used to be one root
    # trace per judgment, and datasets built from "production" traces picked them up).
    everything = evaltrace.search_traces(return_type="list")
    assert sorted(t.info.trace_id for t in everything) == sorted(table["trace_id"])
    assert len(judge_server.requests) == 4  # the judges did run: 2 records x 2 judges
    # A judge that cannot answer is an error on that record; the run goes on.
    judge_server.script("maybe?")
    again = evaltrace.evaluate(data=RECORDS[:1], predict_fn=bot, scorers=[correctness])
    assert "did not answer yes or no" in again.result_df.loc[0, "factual_accuracy/error"]
    # Nothing to judge against: an error that says so, not a crash.
    missing = evaltrace.evaluate(
        data=[{"inputs": {"question": "refund?"}}], predict_fn=bot, scorers=[correctness]
    )
    row = missing.result_df.loc[0]
    assert row["factual_accuracy/rationale"] == (
        "not judged: the record has nothing factual_accuracy judges against"
    )
    assert missing.metrics["factual_accuracy/error_count"] == 0
    assert "factual_accuracy/score" not in missing.metrics  # neither 0 nor 1
    # Other expectations (reference/003's key_information): judged against them, and said so.
    other = evaltrace.evaluate(
        data=[{"inputs": {"question": "refund?"}, "expectations": {"key_information": "30"}}],
        predict_fn=bot,
        scorers=[correctness],
    )
    rationale = other.result_df.loc[0, "factual_accuracy/rationale"]
    assert rationale.startswith("Judged against the record's expectations (key_information)")
    assert "factual_accuracy/score" in other.metrics


def test_judge_retries_rate_limits(store_uri: str, judge_server: OpenAIServer) -> None:
    judge_server.script(429)
    correctness = Correctness(base_url=judge_server.base_url, api_key="k", max_retries=2)
    result = evaltrace.evaluate(data=RECORDS[:1], predict_fn=bot, scorers=[correctness])
    assert result.result_df.loc[0, "correctness/value"] == "yes"


def test_an_azure_judge(store_uri: str, judge_server: OpenAIServer) -> None:
    correctness = Correctness(
        model="azure:/judge-deployment",
        base_url=judge_server.root_url,
        api_key="k",
        api_version="2024-06-01",
    )
    result = evaltrace.evaluate(data=RECORDS[:2], predict_fn=bot, scorers=[correctness])
    assert list(result.result_df["correctness/value"]) == ["yes", "no"]
    paths = [r["path"] for r in judge_server.requests]
    assert paths and all(
        p.startswith("/openai/deployments/judge-deployment/chat/completions") for p in paths
    )


def test_built_in_scorers_agree_on_a_missing_expectation(store_uri: str) -> None:
    """exact_match (it said 0) and contains_all (it said 1) give no score, with the reason,
    and log no Feedback."""
    result = evaltrace.evaluate(
        data=[{"inputs": {"question": "refund?"}, "expectations": {"tone": "kind"}}],
        predict_fn=bot,
        scorers=[exact_match, contains_all],
    )
    row = result.result_df.loc[0]
    assert row["exact_match/rationale"] == "not judged: the record has no expected_response"
    assert row["contains_all/rationale"] == "not judged: the record has no must_mention"
    assert "exact_match/score" not in result.metrics and "contains_all/score" not in result.metrics
    assert evaltrace.get_trace(row["trace_id"]).search_assessments(type="feedback") == []


def test_progress_bar_counts_records_and_can_be_switched_off(
    store_uri: str, capsys: pytest.CaptureFixture[str]
) -> None:
    evaltrace.evaluate(data=RECORDS[:3], predict_fn=bot, scorers=[exact_match])
    shown = capsys.readouterr().err
    assert "evaltrace evaluate" in shown and "3/3" in shown and "record" in shown
    evaltrace.configure(eval_progress=False)
    evaltrace.evaluate(data=RECORDS[:3], predict_fn=bot, scorers=[exact_match])
    assert "evaltrace evaluate" not in capsys.readouterr().err


def test_a_scorer_failing_on_every_row_is_reported(
    store_uri: str, caplog: pytest.LogCaptureFixture
) -> None:
    @scorer
    def broken(outputs: str) -> bool:
        raise KeyError("judge_config")

    with caplog.at_level("WARNING", logger="evaltrace"):
        evaltrace.evaluate(data=RECORDS[:2], predict_fn=bot, scorers=[broken, exact_match])
    warned = [r.getMessage() for r in caplog.records if "failed on all" in r.getMessage()]
    assert warned == [
        "evaltrace: scorer 'broken' failed on all 2 row(s); the first error: 'judge_config'"
    ]


def test_judge_settings_temperature_headers_client_and_providers(
    store_uri: str, judge_server: OpenAIServer
) -> None:
    """No temperature unless asked (reasoning models refuse one), headers sent, a client of
    your own used, and a provider the judges cannot call refused up front."""
    import openai

    record = RECORDS[:1]
    plain = Correctness(name="plain", base_url=judge_server.base_url, api_key="k")
    tuned = Correctness(
        name="tuned",
        base_url=judge_server.base_url,
        api_key="k",
        temperature=0.2,
        extra_headers={"X-Team": "evals"},
    )
    evaltrace.evaluate(data=record, predict_fn=bot, scorers=[plain, tuned])
    sent = {r["body"].get("temperature") for r in judge_server.requests[-2:]}
    assert sent == {None, 0.2}
    headers = [{k.lower(): v for k, v in r["headers"].items()} for r in judge_server.requests[-2:]]
    assert any(h.get("x-team") == "evals" for h in headers)

    mine = openai.OpenAI(
        base_url=judge_server.base_url, api_key="k", default_headers={"X-Mine": "1"}
    )
    before = len(judge_server.requests)
    with mine:
        result = evaltrace.evaluate(
            data=record, predict_fn=bot, scorers=[Correctness(name="own", client=mine)]
        )
    assert result.metrics["own/score"] == 1.0
    own = {k.lower(): v for k, v in judge_server.requests[before]["headers"].items()}
    assert own.get("x-mine") == "1"
    with pytest.raises(InvalidArgumentError, match="the provider must be one of openai, anthropic"):
        Correctness(model="bedrock:/claude-sonnet")


def test_judges_call_any_openai_compatible_provider_by_its_name(
    store_uri: str, judge_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``groq:/<model>`` reads GROQ_API_KEY and calls Groq's OpenAI-compatible API (here the
    test server, through base_url=); a hosted provider without its key is that judge's error,
    naming the variable."""
    monkeypatch.setenv("GROQ_API_KEY", "gsk-test")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    groq = Correctness(name="groq", model="groq:/llama-3.3-70b", base_url=judge_server.base_url)
    keyless = Correctness(name="claude", model="anthropic:/claude-sonnet-4")
    result = evaltrace.evaluate(data=RECORDS[:1], predict_fn=bot, scorers=[groq, keyless])
    request = judge_server.requests[-1]
    assert request["body"]["model"] == "llama-3.3-70b"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["authorization"] == "Bearer gsk-test"
    assert result.metrics["groq/score"] == 1.0
    row = result.result_df.loc[0]
    assert "anthropic:/ models need ANTHROPIC_API_KEY" in row["claude/error"]


def test_a_scorer_returning_nan_is_its_error_on_that_row_and_the_run_is_kept(
    store_uri: str,
) -> None:
    """One NaN used to abort evaluate() after every row ran: no run, no feedback at all."""

    @scorer
    def broken_metric(outputs: str) -> float:
        return float("nan")

    result = evaltrace.evaluate(
        data=RECORDS[:2], predict_fn=bot, scorers=[broken_metric, exact_match]
    )
    assert result.metrics["broken_metric/error_count"] == 2
    assert result.metrics["exact_match/score"] == 0.0  # the good scorer's judgments are kept
    assert "returned nan, not a JSON value" in result.result_df.loc[0, "broken_metric/error"]
    assert evaltrace.get_evaluation_run(result.run_id).row_count == 2
    trace = evaltrace.get_trace(result.result_df.loc[0, "trace_id"])
    assert {a.name for a in trace.search_assessments(type="feedback")} == {
        "broken_metric",
        "exact_match",
    }


def test_a_hung_scorer_times_out_as_its_error_and_the_run_goes_on(store_uri: str) -> None:
    import threading

    release = threading.Event()

    @scorer
    def hangs(outputs: str) -> bool:
        release.wait(60)  # a judge whose endpoint never answers
        return True

    evaltrace.configure(scorer_timeout=0.3)
    try:
        result = evaltrace.evaluate(data=RECORDS[:2], predict_fn=bot, scorers=[hangs, exact_match])
    finally:
        release.set()
    errors = list(result.result_df["hangs/error"])
    assert all("scorer 'hangs' took longer than 0.3 s" in e for e in errors), errors
    assert result.metrics["hangs/error_count"] == 2
    assert result.metrics["exact_match/score"] == 0.0  # judged as ever


def test_a_judge_used_by_many_rows_at_once_makes_one_client(judge_server: OpenAIServer) -> None:
    """Rows are judged on several threads: each used to make its own client when none existed
    yet, and all but one were never closed (an unclosed-socket warning)."""
    judge = Correctness(base_url=judge_server.base_url, api_key="k")
    start = threading.Barrier(8)
    clients: list[object] = []

    def first_use() -> None:
        start.wait()
        clients.append(judge._openai())

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    judge.close()
    assert len(clients) == 8 and len({id(c) for c in clients}) == 1
    assert judge._client is None  # closed, made again on the next use


def test_the_references_judge_functions_and_make_judge(
    judge_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``mlflow.genai.judges``: each function answers with a Feedback; ``make_judge`` fills its
    instructions from the record; called directly or in evaluate(). Built-in judges called
    directly answer with a Feedback too, as the reference's do."""
    from evaltrace.genai import judges

    monkeypatch.setenv("OPENAI_BASE_URL", judge_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    right = judges.is_correct(request="refund?", response="30 days", expected_response="30 days")
    assert (right.name, right.value, right.rationale) == ("correctness", "yes", "checked: True")
    assert right.source.source_type.value == "LLM_JUDGE"
    wrong = judges.is_correct(
        request="refund?", response="never", expected_facts=["30 days"], name="facts"
    )
    assert (wrong.name, wrong.value) == ("facts", "no")
    assert judges.is_safe(content="30 days").value == "yes"
    assert judges.meets_guidelines(
        guidelines="be brief", context={"response": "30 days"}
    ).value == ("yes")
    grounded = judges.is_grounded(request="q", response="30 days", context=["policy"])
    assert grounded.name == "groundedness" and grounded.value == "yes"
    with pytest.raises(InvalidArgumentError, match="expected_facts or expected_response"):
        judges.is_correct(request="q", response="a")

    concise = judges.make_judge(
        name="concise", instructions="Is {{ outputs }} short? The user asked {{ inputs }}."
    )
    asked = concise(inputs={"q": "refund?"}, outputs="30 days")
    assert asked.name == "concise" and asked.value in ("yes", "no")
    question = judge_server.requests[-1]["body"]["messages"][1]["content"]
    assert question.startswith('Is 30 days short? The user asked {"q": "refund?"}.')
    with pytest.raises(InvalidArgumentError, match="instructions must name what to judge"):
        judges.make_judge(name="vague", instructions="Is it good?")
    result = evaltrace.evaluate(data=RECORDS[:1], predict_fn=bot, scorers=[concise])
    assert "concise/value" in result.result_df.columns
    direct = Correctness(base_url=judge_server.base_url, api_key="k")(
        inputs="refund?", outputs="30 days", expectations={"expected_response": "30 days"}
    )
    assert isinstance(direct, Feedback) and direct.value == "yes"
