"""Code written for the reference's GenAI API runs with ``import evaltrace as mlflow``: the
idioms its docs use, each as written there (names mapped, nothing else)."""

from __future__ import annotations

import re
import threading

import pytest

import evaltrace as mlflow
from evaltrace import Expectation, Feedback, SpanEvent, SpanStatus, SpanStatusCode
from evaltrace.entities import AssessmentSourceType, TraceState
from evaltrace.exceptions import InvalidArgumentError, NotFoundError
from evaltrace.genai.datasets import create_dataset, search_datasets
from evaltrace.genai.scorers import Scorer, scorer
from tests.conftest import ALL_STORE_KINDS

STORE_KINDS = ALL_STORE_KINDS  # every test asking for store_uri runs over HTTP too


def finished(trace_id: str | None = None) -> mlflow.Trace:
    mlflow.flush()
    return mlflow.get_trace(trace_id or mlflow.get_last_active_trace_id())


def test_feedback_and_expectation_are_built_from_a_name_and_a_value() -> None:
    feedback = Feedback(name="relevance", value=1.0, rationale="on topic")
    assert feedback.source.source_type is AssessmentSourceType.CODE
    assert Feedback(value=True).name == "feedback"  # the reference's default name
    assert Expectation(name="expected", value="42").source.source_type is AssessmentSourceType.HUMAN
    failed = Feedback(name="judge", error=TimeoutError("judge timed out"))
    assert (failed.error.error_code, failed.error.error_message) == (
        "TimeoutError",
        "judge timed out",
    )


def test_log_assessment_logs_a_prebuilt_feedback_or_expectation(store_uri: str) -> None:
    @mlflow.trace
    def answer(question: str) -> str:
        return "42"

    answer("?")
    trace_id = mlflow.get_last_active_trace_id()
    logged = mlflow.log_assessment(trace_id, Feedback(name="relevance", value=0.8))
    mlflow.log_assessment(trace_id, Expectation(name="expected", value="42"))
    assert logged.assessment_id.startswith("a-") and logged.trace_id == trace_id
    info = mlflow.get_trace(trace_id).info
    assert {a.name: a.value for a in info.assessments} == {"relevance": 0.8, "expected": "42"}
    with pytest.raises(InvalidArgumentError, match="Feedback or an Expectation"):
        mlflow.log_assessment(trace_id, {"name": "x"})  # type: ignore[arg-type]


def test_a_scorer_returning_feedback_and_a_scorer_class_with_call() -> None:
    @scorer
    def concise(outputs: str) -> Feedback:
        return Feedback(value=len(outputs) < 20, rationale=f"{len(outputs)} characters")

    class Mentions(Scorer):
        word: str = "42"

        def __call__(self, *, outputs: str) -> bool:
            return self.word in outputs

    mentions = Mentions(name="mentions_42")
    assert mentions.name == "mentions_42"
    assert mentions.run(inputs={"q": "?"}, outputs="it is 42") is True
    result = mlflow.evaluate(
        data=[{"inputs": {"q": "?"}, "outputs": "it is 42"}],
        scorers=[concise, mentions],
    )
    assert result.metrics["concise/mean"] == 1.0 and result.metrics["mentions_42/mean"] == 1.0
    (trace_id,) = list(result.result_df["trace_id"])
    names = {a.name: a for a in mlflow.get_trace(trace_id).info.assessments}
    assert names["concise"].rationale == "8 characters"  # "it is 42"
    assert names["concise"].source.source_id == "concise"


def test_assessments_and_tags_on_the_trace_that_is_still_running(store_uri: str) -> None:
    """log_feedback / log_expectation / set_trace_tag inside the traced call and inside a
    start_span block: kept with the trace and written with it."""

    @mlflow.trace
    def answer(question: str) -> str:
        trace_id = mlflow.get_active_trace_id()
        assert trace_id is not None
        mlflow.log_expectation(trace_id=trace_id, name="expected", value="42")
        mlflow.log_feedback(trace_id=trace_id, name="fast", value=True)
        mlflow.set_trace_tag(trace_id, "stage", "live")
        return "42"

    answer("?")
    info = finished().info
    assert {a.name for a in info.assessments} == {"expected", "fast"}
    assert info.tags["stage"] == "live"

    with mlflow.start_span("block") as span:
        mlflow.log_feedback(trace_id=span.trace_id, name="inside", value=1)
    assert [a.name for a in finished(span.trace_id).info.assessments] == ["inside"]
    assert mlflow.get_active_trace_id() is None  # outside any trace


def test_trace_tags_on_stored_traces(store_uri: str) -> None:
    @mlflow.trace
    def answer() -> str:
        return "ok"

    answer()
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.flush()
    mlflow.set_trace_tag(trace_id, "reviewed", "yes")
    mlflow.set_trace_tag(trace_id, "reviewed", "twice")  # replaces
    experiment = mlflow.get_trace(trace_id).info.experiment_id
    found = mlflow.search_traces(
        experiment_ids=[experiment], filter_string="tags.reviewed = 'twice'", return_type="list"
    )
    assert [t.info.trace_id for t in found] == [trace_id]
    mlflow.delete_trace_tag(trace_id, "reviewed")
    assert "reviewed" not in mlflow.get_trace(trace_id).info.tags
    with pytest.raises(NotFoundError):
        mlflow.delete_trace_tag(trace_id, "reviewed")
    with pytest.raises(mlflow.TraceNotFoundError):
        mlflow.set_trace_tag("tr-" + "0" * 32, "k", "v")


def test_a_tag_of_any_value_is_stored_as_update_current_trace_stores_it() -> None:
    """set_trace_tag(tid, "k", object()) raised TypeError; update_current_trace took it."""

    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    @mlflow.trace
    def answer() -> str:
        mlflow.update_current_trace(tags={"live": Opaque()})
        return "ok"

    answer()
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.flush()
    mlflow.set_trace_tag(trace_id, "stored", Opaque())
    tags = mlflow.get_trace(trace_id).info.tags
    assert tags["stored"] == tags["live"] == '"<Opaque thing>"'
    with pytest.raises(InvalidArgumentError, match="longer than"):
        mlflow.set_trace_tag(trace_id, "big", ["x" * 300_000])


def test_update_current_trace_sets_the_state() -> None:
    @mlflow.trace
    def degraded() -> str:
        mlflow.update_current_trace(state="ERROR")
        return "fallback answer"

    degraded()
    assert finished().info.state is TraceState.ERROR
    with pytest.raises(InvalidArgumentError, match="state must be"):
        mlflow.update_current_trace(state="BROKEN")


def test_span_status_and_events_as_the_reference_builds_them() -> None:
    assert SpanStatus("OK").status_code is SpanStatusCode.OK
    assert SpanStatus(SpanStatusCode.ERROR, "bad").description == "bad"
    with pytest.raises(InvalidArgumentError, match="status_code must be one of"):
        SpanStatus("MAYBE")
    event = SpanEvent("retry", timestamp=1_700_000_000_000_000_000, attributes={"attempt": 2})
    assert event.timestamp_ns == event.timestamp == 1_700_000_000_000_000_000
    try:
        raise ValueError("bad input")
    except ValueError as exc:
        error_event = SpanEvent.from_exception(exc)
    assert error_event.attributes["exception.type"] == "ValueError"
    assert "bad input" in error_event.attributes["exception.stacktrace"]

    with mlflow.start_span("work") as span:
        span.set_inputs({"x": 1})
        span.set_attribute("model", "gpt-4o")
        span.add_event(event)
        span.set_status(SpanStatus(SpanStatusCode.ERROR, "gave up"))
        # Read back while it runs.
        assert span.inputs == {"x": 1} and span.get_attribute("model") == "gpt-4o"
        assert span.status == SpanStatus(SpanStatusCode.ERROR, "gave up")
        assert span.to_dict()["name"] == "work" and span.attributes == {"model": "gpt-4o"}
        span.set_outputs("partial")
        assert span.outputs == "partial"
    stored = finished(span.trace_id).data.spans[0]
    assert [e.name for e in stored.events] == ["retry"]
    assert stored.events[0].attributes == {"attempt": 2}
    assert stored.status.description == "gave up"


def test_record_exception_takes_an_exception_or_a_message() -> None:
    with mlflow.start_span("work") as span:
        span.record_exception("upstream said no")
        with pytest.raises(InvalidArgumentError, match="an exception or a message"):
            span.record_exception(123)  # type: ignore[arg-type]
    stored = finished(span.trace_id).data.spans[0]
    (event,) = stored.events
    assert event.attributes["exception.message"] == "upstream said no"
    assert stored.status.status_code is SpanStatusCode.ERROR


def test_search_spans_by_a_compiled_pattern() -> None:
    @mlflow.trace
    def pipeline() -> None:
        for name in ("chat-1", "chat-2", "retrieve"):
            with mlflow.start_span(name):
                pass

    pipeline()
    trace = finished()
    assert sorted(s.name for s in trace.search_spans(name=re.compile(r"chat-\d"))) == [
        "chat-1",
        "chat-2",
    ]
    # Found anywhere in the name, as the reference's re.search does; anchors narrow it.
    assert len(trace.search_spans(name=re.compile("chat"))) == 2
    assert [s.name for s in trace.search_spans(name=re.compile(r"^ret"))] == ["retrieve"]
    assert [s.name for s in trace.search_spans(name=re.compile(r"-2$"))] == ["chat-2"]


def test_last_active_trace_id_per_thread() -> None:
    @mlflow.trace
    def handle(i: int) -> int:
        return i

    seen: dict[int, str | None] = {}

    def worker(i: int) -> None:
        handle(i)
        seen[i] = mlflow.get_last_active_trace_id(thread_local=True)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mlflow.flush()
    for i, trace_id in seen.items():
        assert trace_id is not None
        assert mlflow.get_trace(trace_id).data.spans[0].inputs == {"i": i}
    assert len(set(seen.values())) == 4
    assert mlflow.get_last_active_trace_id(thread_local=True) is None  # none in this thread


def test_search_datasets_takes_one_experiment_id_as_a_string() -> None:
    create_dataset("one-id", experiment_id="0")
    assert [d.name for d in search_datasets(experiment_ids="0")] == ["one-id"]


def test_tracing_can_be_disabled_and_enabled() -> None:
    calls = []

    @mlflow.trace
    def answer(i: int) -> int:
        calls.append(i)
        with mlflow.start_span("inner") as span:
            span.set_inputs({"i": i})  # a no-op span while tracing is off
        return i

    mlflow.tracing.disable()
    try:
        assert not mlflow.tracing.is_enabled()
        assert answer(1) == 1
        assert mlflow.get_last_active_trace_id() is None  # nothing traced
    finally:
        mlflow.tracing.enable()
    answer(2)
    assert calls == [1, 2]
    trace = finished()
    assert [s.name for s in trace.data.spans] == ["answer", "inner"]
    assert trace.data.intermediate_outputs == {}  # "inner" has no outputs (the reference's {})


def test_intermediate_outputs_are_the_outputs_under_the_root() -> None:
    @mlflow.trace
    def retrieve(q: str) -> list[str]:
        return ["doc-1"]

    @mlflow.trace
    def answer(q: str) -> str:
        retrieve(q)
        return "done"

    answer("?")
    assert finished().data.intermediate_outputs == {"retrieve": ["doc-1"]}

    @mlflow.trace
    def twice(q: str) -> str:
        retrieve(q)
        retrieve(q + "!")
        return "done"

    twice("?")  # a shared name is numbered in span order: no output is lost
    assert finished().data.intermediate_outputs == {
        "retrieve_1": ["doc-1"],
        "retrieve_2": ["doc-1"],
    }
    mlflow.log_trace(request="q", response="a")
    assert finished().data.intermediate_outputs is None  # one span


def test_evaluating_no_records_is_a_typed_error_and_stores_no_run() -> None:
    with pytest.raises(InvalidArgumentError, match="no records"):
        mlflow.evaluate(data=[], scorers=[])
    assert mlflow.search_evaluation_runs() == []


def test_search_traces_takes_locations_and_extract_fields() -> None:
    @mlflow.trace
    def retrieve(query: str) -> list[str]:
        return ["doc-1"]

    @mlflow.trace
    def answer(question: str) -> str:
        retrieve(question.upper())
        return "done"

    answer("refunds?")
    mlflow.flush()
    frame = mlflow.search_traces(
        locations=["0"],
        extract_fields=["retrieve.inputs.query", "retrieve.outputs", "answer.inputs"],
    )
    row = frame.iloc[0]
    assert row["retrieve.inputs.query"] == "REFUNDS?"
    assert row["retrieve.outputs"] == ["doc-1"]
    assert row["answer.inputs"] == {"question": "refunds?"}
    with pytest.raises(InvalidArgumentError, match="expected inputs or outputs"):
        mlflow.search_traces(extract_fields=["retrieve.attributes"])


def test_extract_fields_read_as_the_reference_reads_them() -> None:
    @mlflow.trace(name="llm.call")
    def call(prompt: dict) -> dict:
        return {"text": prompt["n"], "usage.tokens": 3}

    @mlflow.trace
    def pipeline() -> None:
        call({"n": 1})
        call({"n": 2})  # the same span name twice: the last one's value is taken

    pipeline()
    frame = mlflow.search_traces(
        extract_fields=["`llm.call`.outputs.text", "`llm.call`.outputs.`usage.tokens`"]
    )
    row = frame.iloc[0]
    assert row["llm.call.outputs.text"] == 2
    assert row["llm.call.outputs.usage.tokens"] == 3
    for spec, problem in (
        ("llm.call.outputs", "expected inputs or outputs after the span name, got 'call'"),
        ("pipeline", "expected a dot after the span name"),
        ("`llm.call.outputs", "a backquote is not closed"),
        ("pipeline.outputs.`a`b", "text after the closing backquote"),
    ):
        with pytest.raises(InvalidArgumentError, match=re.escape(problem)):
            mlflow.search_traces(extract_fields=[spec])
    with pytest.raises(InvalidArgumentError, match="not both"):
        mlflow.search_traces(experiment_ids=["0"], locations=["0"])


def test_an_async_predict_fn_is_awaited_and_traced() -> None:
    import asyncio

    @mlflow.trace
    async def lookup(q: str) -> str:
        await asyncio.sleep(0)
        return q.upper()

    async def predict(q: str) -> str:
        return await lookup(q)

    result = mlflow.evaluate(
        data=[{"inputs": {"q": "a"}, "expectations": {"expected_response": "A"}}],
        predict_fn=predict,
        scorers=[
            scorer(lambda outputs, expectations: outputs == expectations["expected_response"])
        ],
    )
    (trace_id,) = list(result.result_df["trace_id"])
    spans = mlflow.get_trace(trace_id).data.spans
    assert [s.name for s in spans] == ["predict", "lookup"]
    assert spans[0].outputs == "A"  # not a coroutine object
    assert result.metrics["<lambda>/mean"] == 1.0


def test_reprs_are_short_in_a_repl() -> None:
    @mlflow.trace
    def answer(question: str) -> str:
        return "x" * 100_000

    answer("q" * 100_000)
    trace = finished()
    shown = repr(trace)
    assert len(shown) < 200 and "spans=1" in shown and trace.info.trace_id in shown
    assert len(repr(trace.data.spans[0])) < 200
    result = mlflow.evaluate(data=[{"inputs": {"q": 1}, "outputs": "a"}], scorers=[])
    assert repr(result).startswith("EvaluationResult(run_id=") and len(repr(result)) < 200
    assert "rows=1" in repr(result.run)


def test_a_notebook_shows_a_trace_as_an_escaped_span_tree() -> None:
    @mlflow.trace(name="<script>alert(1)</script>")
    def outer(question: str) -> str:
        with mlflow.start_span("retrieve"), mlflow.start_span("rank"):
            pass
        with mlflow.start_span("generate"):
            pass
        return "a"

    outer("<img src=x onerror=alert(2)>")
    html = finished()._repr_html_()
    assert "<script>" not in html and "<img" not in html  # untrusted: escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html  # the request preview
    names = re.findall(r'padding-left:([\d.]+)em">([^<]+)</td>', html)
    assert [(float(indent), name) for indent, name in names] == [
        (0.0, "&lt;script&gt;alert(1)&lt;/script&gt;"),
        (1.2, "retrieve"),
        (2.4, "rank"),
        (1.2, "generate"),
    ]


def test_a_notebook_shows_datasets_and_results_escaped_and_clipped() -> None:
    dataset = create_dataset(name="<b>support</b>")
    dataset.merge_records(
        [
            {"inputs": {"q": f"<script>{i}</script>"}, "expectations": {"expected_response": "x"}}
            for i in range(25)
        ]
        + [{"inputs": {"q": "long"}, "expectations": {"expected_response": "y" * 1000}}]
    )
    html = dataset._repr_html_()
    assert "<script>" not in html and "<b>support" not in html
    assert "EvaluationDataset &lt;b&gt;support&lt;/b&gt; v1 · 26 records" in html
    assert html.count("<tr>") == 1 + 20 + 1  # the header, the first 20, "... 6 more"
    assert "... 6 more" in html

    @scorer
    def is_short(outputs: str) -> bool:
        return len(outputs) < 5

    result = mlflow.evaluate(
        data=[{"inputs": {"q": 1}, "outputs": "<i>"}, {"inputs": {"q": 2}, "outputs": "z" * 9}],
        scorers=[is_short],
    )
    html = result._repr_html_()
    assert "<i>" not in html and "&lt;i&gt;" in html
    assert "<td>is_short/mean</td><td>0.5</td>" in html
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>", html.split("Rows")[1])
    assert [(c[1], c[2]) for c in cells] == [("&lt;i&gt;", "true"), ("zzzzzzzzz", "false")]


# -- round 2: behaviour the reference's own tests showed to differ -----------------------------


def test_a_dataset_record_source_takes_the_type_in_any_case_and_refuses_unknown_ones() -> None:
    from evaltrace.entities import DatasetRecordSource, DatasetRecordSourceType

    source = DatasetRecordSource(source_type="trace", source_data={"trace_id": "tr-1"})
    assert source.source_type is DatasetRecordSourceType.TRACE
    assert source.to_dict() == {"source_type": "TRACE", "source_data": {"trace_id": "tr-1"}}
    with pytest.raises(InvalidArgumentError, match="source_type must be one of TRACE.*'bogus'"):
        DatasetRecordSource(source_type="bogus")  # type: ignore[arg-type]


def test_an_expectation_needs_a_value_and_a_feedback_a_value_or_an_error() -> None:
    with pytest.raises(InvalidArgumentError, match="value of expectation 'e' must be specified"):
        Expectation(name="e", value=None)

    @mlflow.trace
    def answer() -> str:
        return "42"

    answer()
    trace_id = mlflow.get_last_active_trace_id()
    with pytest.raises(InvalidArgumentError, match="needs a value or an error"):
        mlflow.log_feedback(trace_id=trace_id, name="quality")
    assert finished(trace_id).info.assessments == ()


def test_a_scorers_unnamed_feedback_is_named_after_the_scorer() -> None:
    @scorer
    def exact(outputs: str) -> Feedback:
        return Feedback(value=42)

    @scorer
    def rough(outputs: str) -> Feedback:
        return Feedback(value=7)

    assert exact.run(outputs="x").name == "exact"
    named = scorer(lambda outputs: Feedback(name="mine", value=1), name="other")
    assert named.run(outputs="x").name == "mine"  # a name the scorer gave stays
    result = mlflow.genai.evaluate(
        data=[{"inputs": {"q": "?"}, "outputs": "x"}], scorers=[exact, rough]
    )
    assert (result.metrics["exact/mean"], result.metrics["rough/mean"]) == (42.0, 7.0)


def test_logging_on_the_active_trace_with_tracing_off_does_nothing() -> None:
    """Traced code that logs on ``get_active_trace_id()`` keeps running when tracing is off
    (the reference returns the assessment and logs nothing)."""

    @mlflow.trace
    def answer() -> tuple[Feedback, Expectation]:
        trace_id = mlflow.get_active_trace_id()
        feedback = mlflow.log_assessment(trace_id, Feedback(name="quality", value=1))
        expectation = mlflow.log_expectation(trace_id=trace_id, name="truth", value="42")
        return feedback, expectation

    mlflow.tracing.disable()
    try:
        feedback, expectation = answer()
    finally:
        mlflow.tracing.enable()
    assert (feedback.value, feedback.trace_id, expectation.value) == (1, "", "42")
    assert mlflow.search_traces(return_type="list") == []
    with pytest.raises(InvalidArgumentError, match="trace_id"):  # tracing on: a mistake, said
        mlflow.log_feedback(trace_id=None, name="quality", value=1)  # type: ignore[arg-type]


def test_evaluate_reads_an_expectations_column_added_to_the_search_traces_frame() -> None:
    @mlflow.trace
    def answer(question: str) -> str:
        return "Paris" if "France" in question else "Rome"

    answer("capital of France?")
    answer("capital of Italy?")
    mlflow.flush()
    frame = mlflow.search_traces(order_by=["timestamp_ms ASC"])
    frame["expectations"] = [{"expected_response": "Paris"}, {"expected_response": "Madrid"}]

    @scorer
    def correct(outputs: str, expectations: dict) -> bool:
        return outputs == expectations["expected_response"]

    result = mlflow.genai.evaluate(data=frame, scorers=[correct])
    assert result.metrics["correct/mean"] == 0.5
    frame["expectations"] = ["Paris", None]
    with pytest.raises(InvalidArgumentError, match="record 0: expectations must be a dict"):
        mlflow.genai.evaluate(data=frame, scorers=[correct])


def test_a_numeric_client_request_id_is_stored_as_text() -> None:
    @mlflow.trace
    def answer() -> str:
        mlflow.update_current_trace(client_request_id=123)
        return "ok"

    answer()
    assert finished().info.client_request_id == "123"


def test_the_reference_entity_spellings() -> None:
    from evaltrace.entities import ExpectationValue, FeedbackValue, SpanType

    feedback = Feedback(name="q", value=0.5)
    assert feedback.feedback == FeedbackValue(0.5, None)
    assert Expectation(name="e", value="42").expectation == ExpectationValue("42")
    assert SpanType.EVALUATOR == "EVALUATOR"
    assert mlflow.MlflowException is mlflow.EvaltraceError
    with pytest.raises(mlflow.MlflowException):  # catches every typed error
        mlflow.get_trace("tr-missing")

    @mlflow.trace(attributes={"team": "support"})
    def answer() -> str:
        return "42"

    answer()
    mlflow.flush_trace_async_logging()
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
    (span,) = trace.data.spans
    assert (span.get_attribute("team"), span.get_attribute("absent")) == ("support", None)
    location = trace.info.trace_location
    assert location.type.value == "MLFLOW_EXPERIMENT"
    assert location.mlflow_experiment.experiment_id == trace.info.experiment_id


def test_spans_started_without_context_are_linked_and_ended_by_hand() -> None:
    root = mlflow.start_span_no_context("request", inputs={"q": "?"}, tags={"env": "test"})
    child = mlflow.start_span_no_context("step", span_type="TOOL", parent_span=root)
    assert mlflow.get_current_active_span() is None  # neither became the current span
    child.end(outputs={"ok": True}, attributes={"n": 1})
    root.end(outputs="done")
    root.end(outputs="again")  # a second end changes nothing
    trace = finished(root.trace_id)
    spans = {s.name: s for s in trace.data.spans}
    assert spans["step"].parent_id == spans["request"].span_id
    assert (spans["step"].span_type, spans["step"].outputs) == ("TOOL", {"ok": True})
    assert (spans["request"].inputs, spans["request"].outputs) == ({"q": "?"}, "done")
    assert trace.info.tags["env"] == "test"


def test_a_remote_trace_is_grafted_under_the_running_span() -> None:
    @mlflow.trace(span_type="RETRIEVER")
    def lookup(q: str) -> list[str]:
        return ["doc-1"]

    @mlflow.trace
    def remote_service(q: str) -> str:
        lookup(q)
        raise_later = q
        return raise_later

    remote_service("refunds")
    remote = finished()
    mlflow.delete_traces(remote.info.experiment_id, trace_ids=[remote.info.trace_id])

    @mlflow.trace
    def local(q: str) -> str:
        mlflow.add_trace(remote.to_dict())  # as a remote service returns it, JSON
        return "answered"

    local("refunds")
    trace = finished()
    spans = {s.name: s for s in trace.data.spans}
    assert set(spans) == {"local", "remote_service", "lookup"}
    assert spans["remote_service"].parent_id == spans["local"].span_id
    assert spans["lookup"].parent_id == spans["remote_service"].span_id
    assert (spans["lookup"].span_type, spans["lookup"].outputs) == ("RETRIEVER", ["doc-1"])
    original = {s.name: s for s in remote.data.spans}
    assert spans["lookup"].start_time_ns == original["lookup"].start_time_ns
    with pytest.raises(InvalidArgumentError, match="needs a span"):
        mlflow.add_trace(remote)


def test_update_current_trace_takes_session_user_and_model_id() -> None:
    @mlflow.trace
    def turn(message: str) -> str:
        mlflow.update_current_trace(session_id="chat-7", user="ann", model_id="bot-v2")
        return message

    turn("hi")
    metadata = finished().info.trace_metadata
    assert metadata["mlflow.trace.session"] == "chat-7"
    assert (metadata["mlflow.trace.user"], metadata["mlflow.modelId"]) == ("ann", "bot-v2")
    with pytest.raises(InvalidArgumentError, match="session_id must be a string"):
        mlflow.update_current_trace(session_id=["chat-7"])  # type: ignore[arg-type]


def test_search_traces_by_evaluation_run() -> None:
    @mlflow.trace
    def answer(q: str) -> str:
        return q

    answer("outside any run")
    first = mlflow.genai.evaluate(data=[{"inputs": {"q": "a"}}], predict_fn=answer, scorers=[])
    mlflow.genai.evaluate(data=[{"inputs": {"q": "b"}}], predict_fn=answer, scorers=[])
    found = mlflow.search_traces(run_id=first.run_id, return_type="list")
    assert [t.data.spans[0].inputs for t in found] == [{"q": "a"}]
    both = mlflow.search_traces(
        run_id=first.run_id, filter_string="attributes.status = 'OK'", return_type="list"
    )
    assert len(both) == 1


def test_the_client_class_starts_and_ends_spans_by_id_and_reads_back(store_uri: str) -> None:
    client = mlflow.MlflowClient()
    root = client.start_trace("request", inputs={"q": "refund?"}, tags={"env": "test"})
    child = client.start_span("lookup", root.trace_id, root.span_id, span_type="RETRIEVER")
    client.end_span(root.trace_id, child.span_id, outputs=["doc-1"])
    client.end_trace(root.trace_id, outputs="30 days")
    with pytest.raises(NotFoundError, match="no running trace"):
        client.end_trace(root.trace_id)
    trace = client.get_trace(root.trace_id)
    assert [s.name for s in trace.data.spans] == ["request", "lookup"]
    assert trace.info.tags["env"] == "test"
    client.set_trace_tag(root.trace_id, "reviewed", "yes")
    found = client.search_traces(filter_string="tags.reviewed = 'yes'")
    assert [t.info.trace_id for t in found] == [root.trace_id]
    logged = client.log_assessment(root.trace_id, Feedback(name="quality", value=0.9))
    assert client.get_assessment(root.trace_id, logged.assessment_id).value == 0.9

    experiment_id = client.create_experiment("client-made", tags={"team": "a"})
    client.set_experiment_tag(experiment_id, "tier", "2")
    assert client.get_experiment(experiment_id).tags == {"team": "a", "tier": "2"}
    client.rename_experiment(experiment_id, "client-renamed")
    assert client.get_experiment_by_name("client-renamed").experiment_id == experiment_id
    dataset = client.create_dataset("client-set", experiment_id=experiment_id)
    client.set_dataset_tags(dataset.dataset_id, {"k": "v"})
    assert client.get_dataset(dataset.dataset_id).tags == {"k": "v"}
    assert [d.name for d in client.search_datasets(experiment_ids=[experiment_id])] == [
        "client-set"
    ]
    client.delete_experiment(experiment_id)
    assert client.search_experiments(view_type=mlflow.ViewType.DELETED_ONLY)[0].name == (
        "client-renamed"
    )


def test_the_search_traces_frame_is_shaped_as_the_references() -> None:
    @mlflow.trace
    def answer(q: str) -> str:
        return "30 days"

    answer("refund?")
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.log_feedback(trace_id=trace_id, name="quality", value=1, rationale="ok")
    mlflow.log_expectation(trace_id=trace_id, name="expected", value="30 days")
    row = mlflow.search_traces().iloc[0]
    assert mlflow.Trace.from_json(row["trace"]).info.trace_id == trace_id  # JSON text
    feedback, expectation = sorted(row["assessments"], key=lambda a: a["assessment_name"])[::-1]
    assert feedback["feedback"] == {"value": 1} and feedback["rationale"] == "ok"
    assert expectation["expectation"] == {"value": "30 days"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", feedback["create_time"])
    assert (row["request"], row["response"]) == ({"q": "refund?"}, "30 days")
    # The frame goes back into evaluate() and datasets as the reference's does.
    dataset = create_dataset("from-frame")
    dataset.merge_records(mlflow.search_traces())
    assert dataset.to_df()["expectations"].iloc[0] == {"expected": "30 days"}


def test_the_tracing_modules_functions() -> None:
    @mlflow.trace
    def answer(q: str) -> dict:
        return mlflow.tracing.get_tracing_context_headers_for_http_request()

    with (
        mlflow.tracing.context(tags={"team": "a"}, session_id="chat-1", user="ann"),
        mlflow.tracing.context(metadata={"k": "v"}, tags={"team": "b"}),
    ):
        headers = answer("?")
    trace = finished()
    assert trace.info.tags["team"] == "b"  # the inner block wins
    metadata = trace.info.trace_metadata
    assert (metadata["k"], metadata["mlflow.trace.session"]) == ("v", "chat-1")
    assert metadata["mlflow.trace.user"] == "ann"
    trace_hex = trace.info.trace_id.removeprefix("tr-")
    assert re.fullmatch(rf"00-{trace_hex}-[0-9a-f]{{16}}-0[13]", headers["traceparent"])
    assert mlflow.tracing.get_tracing_context_headers_for_http_request() == {}

    answer("outside")
    assert "team" not in finished().info.tags  # the defaults were the block's only
    before = mlflow.get_last_active_trace_id()
    with mlflow.tracing.context(enabled=False):
        answer("untraced")
    assert mlflow.get_last_active_trace_id() == before

    with mlflow.start_span("chat") as span:
        mlflow.tracing.set_span_chat_tools(
            span, [{"type": "function", "function": {"name": "lookup"}}]
        )
    assert finished().data.spans[0].attributes["mlflow.chat.tools"][0]["function"] == {
        "name": "lookup"
    }
    with pytest.raises(InvalidArgumentError, match="tools\\[0\\]"):
        mlflow.tracing.set_span_chat_tools(span, [{"name": "lookup"}])
    mlflow.tracing.disable_notebook_display()
    try:
        assert finished()._repr_html_() is None
    finally:
        mlflow.tracing.enable_notebook_display()
    assert "<table" in finished()._repr_html_()


def test_search_sessions_groups_conversations(store_uri: str) -> None:
    from evaltrace.entities import Session as Conversation

    @mlflow.trace
    def turn(session_id: str, message: str) -> str:
        mlflow.update_current_trace(session_id=session_id, model_id="bot-v1")
        return message

    turn("chat-a", "hi")
    turn("chat-b", "hello")
    turn("chat-a", "refund?")
    mlflow.log_trace(request="no session")  # not a conversation
    sessions = mlflow.search_sessions()
    assert [s.id for s in sessions] == ["chat-a", "chat-b"]  # the latest conversation first
    first = sessions[0]
    assert isinstance(first, Conversation) and len(first) == 2
    assert [t.data.spans[0].inputs["message"] for t in first] == ["hi", "refund?"]
    assert [s.id for s in mlflow.search_sessions(max_results=1)] == ["chat-a"]
    assert mlflow.search_sessions(model_id="bot-v2") == []
    assert mlflow.search_sessions(include_spans=False)[0][0].data.spans == ()
