"""What the pages and the JSON API do, one service per domain (traces, sessions, datasets,
runs, monitors, labeling): both call these and nothing else. Each goes through the public API of
the library (search_traces, log_expectation, ...) with the app's session in use, so the server
behaves exactly as a script would."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from evaltrace import annotate, client, experiments, labeling
from evaltrace import datasets as datasets_api
from evaltrace._json import loads_json
from evaltrace._session import Session
from evaltrace.entities import (
    Assessment,
    AssessmentSource,
    Experiment,
    Feedback,
    Span,
    Trace,
    TraceInfo,
)
from evaltrace.entities.attribute_keys import SESSION_METADATA_KEY
from evaltrace.entities.evaluation import EvaluationRun
from evaltrace.entities.labeling import LabelSchema
from evaltrace.evaluate import compare_runs, get_evaluation_run, search_evaluation_runs
from evaltrace.exceptions import DatasetNotFoundError, InvalidArgumentError
from evaltrace.labeling import LabelingSession
from evaltrace.store import TraceStore
from evaltrace.store.results import SessionSummary, TraceOutline

_HOUR_MS = 3_600_000
# Chart buckets: (bucket length, how far back the chart goes), in ms.
_BUCKETS = {"hour": (_HOUR_MS, 48 * _HOUR_MS), "day": (24 * _HOUR_MS, 30 * 24 * _HOUR_MS)}
MONITOR_BUCKETS = tuple(_BUCKETS)

__all__ = [
    "DatasetsService",
    "LabelingService",
    "MonitorsService",
    "Page",
    "RunsService",
    "SessionsService",
    "TraceListPage",
    "TracesService",
    "form_answers",
    "parse_value",
]

MAX_PAGE = 200
SESSIONS_PAGE = 100
TURNS_PAGE = 500
DATASETS_PAGE = 500
_CHANGE_ORDER = {"regression": 0, "improvement": 1}
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a long list: its items, where it starts, and whether more follow (the
    total, where it is known). Pages say "showing 101-200 of 1,234", never cut silently."""

    items: list[T]
    offset: int
    size: int  # the page size asked for
    total: int | None = None
    more_after: bool = False  # without a total: one row past the page was found

    @property
    def next_offset(self) -> int | None:
        end = self.offset + len(self.items)
        more = self.more_after if self.total is None else end < self.total
        return end if more else None

    @property
    def previous_offset(self) -> int | None:
        return max(self.offset - self.size, 0) if self.offset else None


@dataclass(frozen=True, slots=True)
class TraceListPage:
    traces: list[TraceInfo]
    names: dict[str, str]  # trace id -> root span name
    next_page_token: str | None


def parse_value(text: str) -> Any:
    """A value typed into a form: JSON when it parses (``0.9``, ``true``, ``["a"]``), else the
    text itself (``yes`` stays the string "yes")."""
    stripped = text.strip()
    if not stripped:
        raise InvalidArgumentError("value must not be empty")
    try:
        return loads_json(stripped)
    except ValueError:
        return text


class _SessionService:
    """A domain's service over the app's session; every domain can name an experiment or a
    trace (a 404 for an unknown one)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _store(self) -> TraceStore:
        return self.session.store()

    def experiment(self, experiment_id: str) -> Experiment:
        return self._store.get_experiment(experiment_id)

    def trace(self, trace_id: str) -> Trace:
        return client.get_trace(trace_id)


class TracesService(_SessionService):
    """Experiments, traces, spans and their assessments."""

    def experiments(self) -> list[Experiment]:
        return list(self._store.browse.experiments())

    def create_experiment(self, name: str) -> str:
        return experiments.create_experiment(name)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        experiments.rename_experiment(experiment_id, new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        experiments.delete_experiment(experiment_id)

    def search(
        self,
        experiment_id: str,
        *,
        filter_string: str | None = None,
        order_by: Sequence[str] = (),
        max_results: int = 50,
        page_token: str | None = None,
    ) -> TraceListPage:
        if not 0 < max_results <= MAX_PAGE:
            raise InvalidArgumentError(f"max_results must be between 1 and {MAX_PAGE}")
        found = client.search_traces(
            experiment_ids=[experiment_id],
            filter_string=filter_string or None,
            order_by=list(order_by) or None,
            max_results=max_results,
            page_token=page_token or None,
            return_type="list",
            include_spans=False,
        )
        infos = [trace.info for trace in found]
        names = self._store.browse.trace_names([info.trace_id for info in infos])
        return TraceListPage(infos, names, found.token)

    def trace_info(self, trace_id: str) -> TraceInfo:
        return self._store.get_trace_info(trace_id)

    def trace_name(self, trace_id: str) -> str | None:
        return self._store.browse.trace_names([trace_id]).get(trace_id)

    def outline(self, trace_id: str) -> TraceOutline:
        return self._store.browse.outline(trace_id)

    def span(self, trace_id: str, span_id: str) -> Span:
        return self._store.browse.span(trace_id, span_id)

    def delete_trace(self, trace_id: str) -> None:
        info = self.trace_info(trace_id)  # TraceNotFoundError
        client.delete_traces(info.experiment_id, trace_ids=[trace_id])

    def add_assessment(
        self,
        trace_id: str,
        *,
        kind: str,
        name: str,
        value: Any,
        rationale: str | None = None,
        source: AssessmentSource | None = None,
        span_id: str | None = None,
    ) -> Assessment:
        if kind == "expectation":
            return annotate.log_expectation(
                trace_id=trace_id, name=name, value=value, source=source, span_id=span_id
            )
        if kind == "feedback":
            return annotate.log_feedback(
                trace_id=trace_id,
                name=name,
                value=value,
                rationale=rationale or None,
                source=source,
                span_id=span_id,
            )
        raise InvalidArgumentError(f"kind must be 'expectation' or 'feedback', got {kind!r}")

    def edit_assessment(
        self,
        trace_id: str,
        assessment_id: str,
        *,
        value: Any,
        rationale: str | None = None,
        source: AssessmentSource | None = None,
    ) -> Assessment:
        """A corrected value that keeps the history: the old assessment stays, overridden."""
        old = annotate.get_assessment(trace_id, assessment_id)
        if isinstance(old, Feedback):
            return annotate.override_feedback(
                trace_id=trace_id,
                assessment_id=assessment_id,
                value=value,
                rationale=rationale or None,
                source=source,
            )
        return annotate.update_assessment(trace_id, assessment_id, value=value, source=source)

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        annotate.delete_assessment(trace_id=trace_id, assessment_id=assessment_id)

    def assessment_history(self, trace_id: str, name: str) -> list[Assessment]:
        return annotate.get_assessment_history(trace_id=trace_id, name=name)


class SessionsService(_SessionService):
    """Conversations: traces sharing a session id, and each one's turns."""

    def sessions(
        self, experiment_id: str, max_results: int = SESSIONS_PAGE, offset: int = 0
    ) -> Page[SessionSummary]:
        """A page of the experiment's sessions, most recent first."""
        self.experiment(experiment_id)  # ExperimentNotFoundError
        found = self._store.browse.sessions(
            experiment_id, max_results=max_results + 1, offset=offset
        )
        return Page(found[:max_results], offset, max_results, more_after=len(found) > max_results)

    def session_traces(
        self, experiment_id: str, session_id: str, page_token: str | None = None
    ) -> tuple[list[Trace], str | None]:
        """A page of a session's turns, oldest first, and the token of the next page: their
        summaries only (previews, times), never their spans."""
        quoted = session_id.replace("\\", "\\\\").replace("'", "\\'")
        page = client.search_traces(
            experiment_ids=[experiment_id],
            filter_string=f"metadata.`{SESSION_METADATA_KEY}` = '{quoted}'",
            order_by=["timestamp_ms ASC"],
            max_results=TURNS_PAGE,
            page_token=page_token,
            return_type="list",
            include_spans=False,
        )
        return list(page), page.token


class DatasetsService(_SessionService):
    """Evaluation datasets: the list, one at a version, a diff, traces added."""

    def datasets(
        self, offset: int = 0, max_results: int | None = DATASETS_PAGE
    ) -> Page[datasets_api.EvaluationDataset]:
        """A page of the datasets (None: all of them), with how many there are."""
        every = datasets_api.search_datasets()
        size = len(every) if max_results is None else max_results
        return Page(every[offset : offset + size], offset, size, total=len(every))

    def dataset(self, name: str, version: int | None = None) -> datasets_api.EvaluationDataset:
        return datasets_api.get_dataset(name, version=version)

    def dataset_diff(self, name: str, version_a: int, version_b: int) -> dict[str, list[Any]]:
        """Records added, removed and changed from version a to version b."""
        a = {r.record_id: r for r in self.dataset(name, version_a).records}
        b = {r.record_id: r for r in self.dataset(name, version_b).records}
        changed = [
            (a[key], b[key]) for key in a.keys() & b.keys() if _content(a[key]) != _content(b[key])
        ]
        return {
            "added": [b[key] for key in b.keys() - a.keys()],
            "removed": [a[key] for key in a.keys() - b.keys()],
            "changed": sorted(changed, key=lambda pair: pair[0].record_id),
        }

    def add_to_dataset(self, trace_ids: Sequence[str], dataset_name: str) -> int:
        """Merge the traces into the dataset (created if new); returns its new version."""
        if not trace_ids:
            raise InvalidArgumentError("select at least one trace")
        traces = [self.trace(trace_id) for trace_id in trace_ids]
        try:
            dataset = datasets_api.get_dataset(dataset_name)
        except DatasetNotFoundError:
            dataset = datasets_api.create_dataset(
                dataset_name, experiment_id=sorted({t.info.experiment_id for t in traces})
            )
        return dataset.merge_records(traces).version


class RunsService(_SessionService):
    """Evaluation runs: the list, one run, two compared, metrics over runs."""

    def runs(self, model_id: str | None = None) -> list[EvaluationRun]:
        return search_evaluation_runs(model_id=model_id or None, max_results=500)

    def run(self, run_id: str) -> EvaluationRun:
        return get_evaluation_run(run_id)

    def compare(self, run_a: str, run_b: str) -> tuple[list[dict[str, Any]], dict[str, float]]:
        """Rows per record and scorer, regressions first, then improvements, then the rest."""
        comparison = compare_runs(self.run(run_a), self.run(run_b))
        rows = [
            {k: _plain(v) for k, v in row.items()} for row in comparison.table.to_dict("records")
        ]
        rows.sort(key=lambda row: _CHANGE_ORDER.get(row["change"], len(_CHANGE_ORDER)))
        return rows, comparison.metric_deltas

    def metric_series(self, model_id: str) -> dict[str, list[tuple[EvaluationRun, float]]]:
        """Each metric's value across the model's runs, oldest first."""
        series: dict[str, list[tuple[EvaluationRun, float]]] = {}
        for run in reversed(self.runs(model_id)):
            for metric, value in sorted(run.metrics.items()):
                series.setdefault(metric, []).append((run, value))
        return series


class MonitorsService(_SessionService):
    """Registered scorers' status, charts and the traces they judged."""

    def monitors(self, experiment_id: str, bucket: str) -> list[dict[str, Any]]:
        """Each registered scorer's status, with its judgments by time bucket."""
        bucket_ms, span_ms = _BUCKETS[bucket]
        since = (int(time.time() * 1000) // bucket_ms) * bucket_ms - span_ms + bucket_ms
        monitors = self._store.monitors
        found = []
        for status in monitors.status(experiment_id):
            judged = {
                b["start_ms"]: b
                for b in monitors.score_buckets(
                    experiment_id, status.name, bucket_ms=bucket_ms, since_ms=since
                )
            }
            every = [  # empty buckets too: the chart's x axis is time
                judged.get(start, {"start_ms": start, "scored": 0, "errors": 0, "mean": None})
                for start in range(since, since + span_ms, bucket_ms)
            ]
            found.append({"status": status, "buckets": every, "bucket_ms": bucket_ms})
        return found

    def monitor_status(self, experiment_id: str) -> list[Any]:
        return list(self._store.monitors.status(experiment_id))

    def monitor_traces(
        self, experiment_id: str, name: str, start_ms: int, end_ms: int
    ) -> list[dict[str, Any]]:
        return list(
            self._store.monitors.judged_traces(
                experiment_id, name, start_ms=start_ms, end_ms=end_ms
            )
        )


class LabelingService:
    """The review app's operations: the same LabelingSession methods a script calls."""

    def sessions(self) -> list[LabelingSession]:
        return labeling.get_labeling_sessions()

    def session(self, session_id: str) -> LabelingSession:
        return labeling.get_labeling_session(session_id)

    def schemas(self, session: LabelingSession) -> list[LabelSchema]:
        return [labeling.get_label_schema(name) for name in session.label_schemas]

    def next_item(self, session: LabelingSession, reviewer: str) -> Trace | None:
        trace_id = session.claim_next(reviewer)
        return None if trace_id is None else client.get_trace(trace_id)

    def submit(
        self,
        session: LabelingSession,
        trace_id: str,
        reviewer: str,
        answers: dict[str, Any],
        comment: str | None,
    ) -> None:
        session.label(trace_id, reviewer=reviewer, values=answers, comment=comment or None)

    def progress(self, session: LabelingSession, reviewer: str | None) -> dict[str, Any]:
        """Items per state, labels per reviewer, and ``mine``: the labels ``reviewer`` gave."""
        counts = session.progress()
        return {**counts, "mine": counts["by_reviewer"].get(reviewer or "", 0)}


def form_answers(schemas: Sequence[LabelSchema], form: Any) -> dict[str, Any]:
    """A review form's fields (``label.<schema>``) as answers; an empty field is no answer."""
    answers: dict[str, Any] = {}
    for schema in schemas:
        field = f"label.{schema.name}"
        kind = schema.input.to_dict()["kind"]
        if kind == "categorical_list":
            chosen = form.getlist(field)
            if chosen:
                answers[schema.name] = list(chosen)
            continue
        raw = str(form.get(field) or "").strip()
        if not raw:
            continue
        if kind == "numeric":
            try:
                answers[schema.name] = int(raw) if raw.lstrip("-").isdigit() else float(raw)
            except ValueError:
                raise InvalidArgumentError(f"label {schema.name!r} must be a number") from None
        elif kind == "text_list":
            answers[schema.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        else:
            answers[schema.name] = raw
    if not answers:
        raise InvalidArgumentError("answer at least one question (or skip the item)")
    return answers


def _content(record: Any) -> tuple[Any, ...]:
    return (record.inputs, record.outputs, record.expectations, record.tags)


def _plain(value: Any) -> Any:
    """pandas' NaN for a missing score becomes None (JSON has no NaN)."""
    if isinstance(value, float) and value != value:
        return None
    return value
