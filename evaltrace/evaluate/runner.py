"""``evaluate()``: run the app over the records, score each one, keep the run."""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace

from evaltrace._config import get_settings
from evaltrace._session import get_session
from evaltrace._validation import require_count, require_text, shown
from evaltrace.annotate.api import log_feedbacks
from evaltrace.entities import SpanType, Trace
from evaltrace.entities.attribute_keys import RUN_TAG
from evaltrace.entities.evaluation import EvaluationRun, RunResult, rounded_metrics
from evaltrace.entities.html import html_table, short_text
from evaltrace.evaluate.metrics import metrics_of, to_score
from evaltrace.evaluate.rows import Row, check_rows, rows_from
from evaltrace.evaluate.scorers import Score, Scorer
from evaltrace.evaluate.timeouts import DaemonPool, TimedOut
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer.context import with_current_context
from evaltrace.tracer.redact import redact
from evaltrace.tracer.spans import start_span, untraced, update_current_trace

if TYPE_CHECKING:
    import pandas

__all__ = ["RUN_TAG", "EvaluationResult", "evaluate"]

_log = logging.getLogger("evaltrace")


@dataclass
class EvaluationResult:
    run_id: str
    metrics: dict[str, float]
    run: EvaluationRun
    tables: dict[str, pandas.DataFrame] = field(default_factory=dict)

    @property
    def result_df(self) -> pandas.DataFrame:
        return self.tables["eval_results_table"]

    def __repr__(self) -> str:
        return (
            f"EvaluationResult(run_id={self.run_id!r}, rows={self.run.row_count}, "
            f"metrics={rounded_metrics(self.metrics)})"
        )

    def _repr_html_(self) -> str:
        """A notebook shows the metrics, then each scorer's value on the first rows."""
        metrics = html_table(
            f"EvaluationResult {self.run_id} · {self.run.row_count:,} rows",
            ["metric", "value"],
            [[name, f"{value:.4g}"] for name, value in sorted(self.metrics.items())],
        )
        results = self.run.results
        scorers = list(self.run.scorers)
        rows = [
            [
                short_text(r.inputs),
                short_text(r.outputs),
                *(short_text((r.scores.get(name) or {}).get("value")) for name in scorers),
                short_text(r.error),
            ]
            for r in results[:_HTML_MAX_ROWS]
        ]
        table = html_table(
            "Rows", ["inputs", "outputs", *scorers, "error"], rows, total=len(results)
        )
        return metrics + table


_HTML_MAX_ROWS = 20


@dataclass
class _Outcome:
    row: Row
    trace_id: str | None
    outputs: Any
    error: BaseException | None
    scores: list[Score]


def evaluate(
    data: Any,
    predict_fn: Callable[..., Any] | None = None,
    scorers: Sequence[Scorer] = (),
    model_id: str | None = None,
    run_name: str | None = None,
    max_workers: int | None = None,
) -> EvaluationResult:
    """Run ``predict_fn`` over ``data`` (or score the outputs already there), score every
    record with ``scorers``, log each judgment as Feedback on the record's trace, and store
    the run. ``data``: an EvaluationDataset (its current version, pinned for the run), a list
    of dicts, a DataFrame, a list of Traces or the search_traces DataFrame."""
    if isinstance(scorers, Scorer):
        scorers = [scorers]
    if isinstance(scorers, (str, bytes)) or not isinstance(scorers, Iterable):
        raise InvalidArgumentError(
            f"scorers must be a list of Scorer objects, got {shown(scorers)}"
        )
    scorers = list(scorers)
    for item in scorers:
        if not isinstance(item, Scorer):
            raise InvalidArgumentError(
                f"scorers must be Scorer objects (use @scorer on functions), got {shown(item)}"
            )
    if predict_fn is not None and not callable(predict_fn):
        raise InvalidArgumentError(f"predict_fn must be callable, got {shown(predict_fn)}")
    require_text(model_id, "model_id", optional=True)
    require_text(run_name, "run_name", optional=True)
    workers = require_count(max_workers, "max_workers") or get_settings().eval_max_workers
    rows, pin = rows_from(data)
    if not rows:
        raise InvalidArgumentError("data has no records: there is nothing to evaluate")
    check_rows(rows, predict_fn)
    run_id = f"run-{uuid.uuid4().hex}"
    started = time.time_ns() // 1_000_000
    limit = get_settings().scorer_timeout
    judges = DaemonPool(workers) if limit and scorers else None
    worker = with_current_context(
        lambda row: _run_row(row, predict_fn, scorers, run_id, judges, limit)
    )
    outcomes: list[_Outcome] = []
    progress = _progress_bar(len(rows))
    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="evaltrace-eval") as pool:
            for outcome in pool.map(worker, rows):
                outcomes.append(outcome)
                if progress is not None:
                    progress.update()
    finally:
        if progress is not None:
            progress.close()
        if judges is not None:
            judges.close()
        for used in scorers:  # a judge's own HTTP client (made again if it is used again)
            used.close()
    _log_feedback(outcomes)
    results = [_result(outcome) for outcome in outcomes]
    metrics = metrics_of([r.scores for r in results], sum(1 for o in outcomes if o.error))
    _warn_about_scorers_that_always_failed(outcomes)
    run = EvaluationRun(
        run_id=run_id,
        name=run_name or run_id,
        experiment_id=get_session().experiment_id(),
        model_id=model_id,
        dataset_id=pin.dataset_id if pin else None,
        dataset_version=pin.version if pin else None,
        dataset_digest=pin.digest if pin else None,
        row_count=len(rows),
        scorers=[s.name for s in scorers],
        metrics=metrics,
        start_time=started,
        end_time=time.time_ns() // 1_000_000,
        results=results,
    )
    get_session().store().runs.save(run)
    from evaltrace.evaluate.tables import results_table

    return EvaluationResult(run_id, metrics, run, {"eval_results_table": results_table(results)})


def _run_row(
    row: Row,
    predict_fn: Callable[..., Any] | None,
    scorers: list[Scorer],
    run_id: str,
    judges: DaemonPool | None,
    limit: float,
) -> _Outcome:
    # Each record is a trace of its own, even when evaluate() runs inside a user's span.
    token = otel_context.attach(otel_trace.set_span_in_context(otel_trace.INVALID_SPAN))
    try:
        if row.trace is not None:  # answer-sheet mode on an existing trace
            return _score(
                row, row.trace.info.trace_id, row.outputs, scorers, row.trace, judges, limit
            )
        name = getattr(predict_fn, "__name__", None) or "evaluate_record"
        outputs, error = row.outputs, None
        with start_span(name, span_type=SpanType.CHAIN) as span:
            span.set_inputs(row.inputs)
            update_current_trace(tags={RUN_TAG: run_id}, metadata={"evaltrace.record_key": row.key})
            if predict_fn is not None:
                try:
                    outputs = predict_fn(**row.inputs)
                    if inspect.isawaitable(outputs):  # an async predict_fn: run it to its end
                        outputs = _run_to_end(outputs)
                except Exception as exc:  # the row keeps its error; the run goes on
                    error = exc
                    span.record_exception(exc)
            span.set_outputs(outputs)
            trace_id = span.trace_id
        if error is not None:
            return _Outcome(row, trace_id, None, error, [])
        return _score(row, trace_id, outputs, scorers, None, judges, limit)
    finally:
        otel_context.detach(token)


def _warn_about_scorers_that_always_failed(outcomes: list[_Outcome]) -> None:
    """A scorer that failed on every row it ran on is a broken scorer, not a finding about
    the rows: say so once, with its first error."""
    errors: dict[str, list[BaseException | None]] = {}
    for outcome in outcomes:
        for score in outcome.scores:
            errors.setdefault(score.name, []).append(score.error)
    for name, seen in errors.items():
        if seen and all(error is not None for error in seen):
            _log.warning(
                "evaltrace: scorer %r failed on all %d row(s); the first error: %s",
                name,
                len(seen),
                seen[0],
            )


def _run_to_end(awaitable: Any) -> Any:
    import asyncio  # here: only an async predict_fn needs it, and it is a tenth of our import

    async def awaited() -> Any:
        return await awaitable

    return asyncio.run(awaited())


def _score(
    row: Row,
    trace_id: str | None,
    outputs: Any,
    scorers: list[Scorer],
    trace: Trace | None,
    judges: DaemonPool | None,
    limit: float,
) -> _Outcome:
    arguments: dict[str, Any] = {
        "inputs": row.inputs,
        "outputs": outputs,
        "expectations": row.expectations,
    }
    if trace is None and trace_id is not None and any("trace" in s.parameters() for s in scorers):
        session = get_session()
        session.flush_for_readers()
        trace = session.store().get_trace(trace_id)
    arguments["trace"] = trace
    # Untraced: a judge's own LLM call (or the user code a scorer calls) is not the
    # application's, and must not become a trace of the user's experiment.
    with untraced():
        scores = [
            score for judged in _judged(scorers, arguments, judges, limit) for score in judged
        ]
    return _Outcome(row, trace_id, outputs, None, scores)


def _judged(
    scorers: list[Scorer], arguments: dict[str, Any], judges: DaemonPool | None, limit: float
) -> list[list[Score]]:
    """Each scorer's judgments of one row, each within ``limit`` seconds
    (EVALTRACE_SCORER_TIMEOUT): past it, that scorer's error on that row."""
    if judges is None:
        return [item.judge(arguments) for item in scorers]
    outcomes = judges.call_each(
        [functools.partial(item.judge, arguments) for item in scorers], timeout=limit
    )
    judged = []
    for item, outcome in zip(scorers, outcomes):
        if isinstance(outcome, TimedOut):
            problem = TimedOut(f"scorer {item.name!r} {outcome} (EVALTRACE_SCORER_TIMEOUT)")
            outcome = [Score(item.name, error=problem, source=item.source())]
        elif isinstance(outcome, Exception):  # judge() keeps its own errors: ours, contained
            outcome = [Score(item.name, error=outcome, source=item.source())]
        judged.append(outcome)
    return judged


def _log_feedback(outcomes: list[_Outcome]) -> None:
    """Every judgment as a Feedback on its record's trace, in one transaction."""
    records = []
    for outcome in outcomes:
        if outcome.trace_id is None:
            continue
        for score in outcome.scores:
            value, error = _json_value(score.value), score.error
            if value is None and error is None:
                continue
            records.append(
                {
                    "trace_id": outcome.trace_id,
                    "name": score.name,
                    "value": value,
                    "rationale": score.rationale,
                    "source": score.source,
                    "error": error,
                }
            )
    if records:
        log_feedbacks(records)


def _json_value(value: Any) -> Any:
    score = to_score(value)
    if isinstance(value, (bool, str)) or value is None or isinstance(value, (list, dict)):
        return value
    return score if score is not None else str(value)


def _result(outcome: _Outcome) -> RunResult:
    scores: dict[str, dict[str, Any]] = {}
    for score in outcome.scores:
        scores[score.name] = {
            "value": _json_value(score.value),
            "score": None if score.error else to_score(score.value),
            "rationale": score.rationale,
            "error": None
            if score.error is None
            else f"{type(score.error).__name__}: {score.error}",
        }
    row = outcome.row
    error = None if outcome.error is None else f"{type(outcome.error).__name__}: {outcome.error}"
    return RunResult(  # stored with the run: redacted as the record's trace is
        row_index=row.index,
        record_key=row.key,
        trace_id=outcome.trace_id,
        inputs=redact(row.inputs, ("inputs",)),
        outputs=redact(outcome.outputs, ("outputs",)),
        expectations=redact(row.expectations, ("expectations",)),
        scores=scores,
        error=redact(error),
    )


def _progress_bar(total: int) -> Any:
    """A tqdm bar on stderr counting finished records (a widget in notebooks), or None when
    the ``eval_progress`` setting is off."""
    if not get_settings().eval_progress:
        return None
    from tqdm.auto import tqdm  # imported here: ``import evaltrace`` stays light

    return tqdm(total=total, desc="evaltrace evaluate", unit="record", file=sys.stderr)
