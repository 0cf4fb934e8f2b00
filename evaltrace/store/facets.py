"""The store's facets as typed protocols: what every caller outside ``store/`` may ask of
``TraceStore.datasets``, ``.runs``, ``.browse``, ``.labeling`` and ``.monitors``. The SQL
store implements them (``*_sql.py``); an HTTP store implements the same. mypy checks every
facet call against these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from evaltrace.entities import (
    Assessment,
    DatasetInfo,
    DatasetRecord,
    DatasetVersion,
    Experiment,
    Span,
)
from evaltrace.entities.evaluation import EvaluationRun
from evaltrace.entities.labeling import LabelSchema
from evaltrace.entities.monitoring import FinishedJob, MonitorJob, ScorerRegistration, ScorerStatus
from evaltrace.entities.prompt import Prompt, PromptVersion
from evaltrace.search import Expr, OrderKey
from evaltrace.store.results import MergeResult, SessionSummary, TraceOutline

if TYPE_CHECKING:
    from evaltrace.store.base import RecordCandidate

__all__ = [
    "BrowseFacet",
    "DatasetsFacet",
    "ExperimentsFacet",
    "LabelingFacet",
    "MonitorsFacet",
    "PromptsFacet",
    "RunsFacet",
]


class BrowseFacet(Protocol):
    """What the server and the CLI read and delete beyond the tracing API: experiments,
    outlines, one span, sessions, row counts, retention."""

    def experiments(self) -> list[Experiment]: ...
    def outline(self, trace_id: str) -> TraceOutline:
        """The trace's summary and its spans' outline, in two queries that read no
        payload."""

    def trace_names(self, trace_ids: Sequence[str]) -> dict[str, str]:
        """Root span names of these traces (one primary-key lookup each)."""

    def span(self, trace_id: str, span_id: str) -> Span: ...
    def sessions(
        self, experiment_id: str, *, max_results: int, offset: int = 0
    ) -> list[SessionSummary]:
        """Sessions (traces sharing ``mlflow.trace.session`` metadata), most recent
        first; ``offset``: skip that many (a page of a long list)."""

    def schema_revision(self) -> str | None:
        """The schema's migration revision."""

    def size_bytes(self) -> int | None:
        """The database's size on disk; None for an in-memory database."""

    def row_counts(self) -> dict[str, int]: ...
    def delete_traces(
        self,
        experiment_id: str,
        *,
        max_timestamp_ms: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete the experiment's traces (with their spans and assessments) matching
        every condition given, oldest first, at most ``max_traces``; returns how many.
        One transaction: a failure deletes nothing."""


class ExperimentsFacet(Protocol):
    """Experiments beyond finding one: create, rename, delete and restore, tags, search."""

    def create(self, name: str, tags: Mapping[str, str]) -> Experiment:
        """A new experiment; ``InvalidArgumentError`` if the name is taken (deleted ones
        too)."""

    def rename(self, experiment_id: str, new_name: str) -> None: ...
    def set_lifecycle(self, experiment_id: str, stage: str) -> None:
        """``"deleted"`` (traces kept; hidden; no new traces) or ``"active"`` (restored)."""

    def set_tags(self, experiment_id: str, tags: Mapping[str, str]) -> None: ...
    def delete_tag(self, experiment_id: str, key: str) -> None: ...
    def search(
        self,
        view_type: int,
        condition: Expr | None,
        order_by: Sequence[OrderKey],
        max_results: int | None,
    ) -> list[Experiment]: ...


class PromptsFacet(Protocol):
    """The prompt registry: immutable numbered versions, aliases, tags."""

    def register(
        self,
        name: str,
        template: Any,
        *,
        commit_message: str | None,
        tags: Mapping[str, str],
        response_format: Any,
        model_config: dict[str, Any] | None,
        user: str | None,
    ) -> PromptVersion:
        """A new version (1 for a new prompt), never one another registration got."""

    def get(self, name: str, version: int | None = None) -> PromptVersion:
        """A version, or the latest; ``NotFoundError`` naming what is missing."""

    def by_alias(self, name: str, alias: str) -> PromptVersion: ...
    def set_alias(self, name: str, alias: str, version: int) -> None: ...
    def delete_alias(self, name: str, alias: str) -> None: ...
    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None: ...
    def versions(self, name: str) -> list[PromptVersion]: ...
    def search(
        self, condition: Expr | None, order_by: Sequence[OrderKey], max_results: int | None
    ) -> list[Prompt]: ...


class DatasetsFacet(Protocol):
    """Evaluation datasets: versions, tags, record merges (the merge rules run inside the
    store's transaction)."""

    def create(
        self, name: str, experiment_ids: Sequence[str], tags: dict[str, str], user: str | None
    ) -> DatasetInfo: ...
    def set_tags(self, dataset_id: str, tags: dict[str, str]) -> None: ...
    def delete_tag(self, dataset_id: str, key: str) -> None: ...
    def delete(self, dataset_id: str) -> None: ...
    def get(self, *, dataset_id: str | None = None, name: str | None = None) -> DatasetInfo: ...
    def search(
        self,
        experiment_ids: Sequence[str] | None,
        condition: Expr | None,
        order_by: Sequence[OrderKey],
        max_results: int | None,
    ) -> list[DatasetInfo]: ...
    def merge(
        self, dataset_id: str, candidates: Sequence[RecordCandidate], user: str | None
    ) -> MergeResult:
        """Insert new records and merge into existing ones (by the candidates' own
        rules), as one new version (if anything changed)."""

    def delete_records(self, dataset_id: str, ids: Sequence[str], user: str | None) -> MergeResult:
        """Remove records (by dataset_record_id or record_id) as one new version."""

    def records(self, dataset_id: str, version: int | None = None) -> list[DatasetRecord]:
        """The records of the current version, or exactly those of ``version``."""

    def versions(self, dataset_id: str) -> list[DatasetVersion]: ...
    def version_info(self, dataset_id: str, version: int) -> DatasetVersion: ...
    def count(self, dataset_id: str) -> int: ...


class RunsFacet(Protocol):
    """Evaluation runs and their results."""

    def save(self, run: EvaluationRun) -> None: ...
    def get(self, run_id: str, *, with_results: bool = True) -> EvaluationRun: ...
    def search(
        self, experiment_ids: Sequence[str] | None, model_id: str | None, max_results: int | None
    ) -> list[EvaluationRun]: ...


class LabelingFacet(Protocol):
    """Label schemas, labeling sessions, their items and reviews."""

    def save_schema(self, schema: LabelSchema, *, overwrite: bool) -> None: ...
    def get_schema(self, name: str) -> LabelSchema | None: ...
    def delete_schema(self, name: str) -> bool: ...
    def create_session(
        self,
        name: str,
        *,
        experiment_id: str,
        assigned_users: Sequence[str],
        label_schemas: Sequence[str],
        labels_per_item: int,
        created_by: str | None,
    ) -> dict[str, Any]: ...
    def get_session(self, session_id: str) -> dict[str, Any]: ...
    def sessions(self) -> list[dict[str, Any]]: ...
    def delete_session(self, session_id: str) -> None: ...
    def set_assigned_users(self, session_id: str, users: Sequence[str]) -> None: ...
    def add_items(self, session_id: str, trace_ids: Sequence[str]) -> int:
        """Add the traces not in the session yet, in order; returns how many were new.
        Every trace must exist (else nothing is added)."""

    def items(self, session_id: str) -> list[dict[str, Any]]:
        """Each item with its state, the reviewers who labeled it and the valid
        assessments of its trace (``assessments``), in order: three queries, whatever
        the session's size."""

    def progress(self, session_id: str) -> dict[str, Any]:
        """Items per state and labels per reviewer, counted in SQL (no item is loaded)."""

    def item_for(self, session_id: str, trace_id: str) -> str: ...
    def claim_next(
        self, session_id: str, reviewer: str, *, labels_per_item: int, timeout_ms: int
    ) -> str | None:
        """The trace of the next item for ``reviewer``, claimed until the timeout; the
        item the reviewer holds already, if any. None when nothing is left for them."""

    def finish(self, item_id: str, reviewer: str, state: str, *, labels_per_item: int) -> None:
        """Record that ``reviewer`` skipped (or labeled) the item, and update its state."""

    def record_labels(
        self,
        item_id: str,
        reviewer: str,
        labels: Sequence[Assessment],
        *,
        labels_per_item: int,
    ) -> None:
        """Write a reviewer's labels (each overriding the one it names in ``overrides``)
        and mark the item labeled by them, in one transaction: all of it or none."""


class MonitorsFacet(Protocol):
    """Registered scorers, the change feed, monitor jobs, their leases and reports."""

    def now_ms(self) -> int:
        """The monitor's clock (epoch ms): claims, leases, back-offs and budgets use it."""

    def register(self, experiment_id: str, name: str, kind: str, definition: dict[str, Any]) -> int:
        """Store a scorer's definition: a new version when it differs from the current
        one (the first registration is version 1, stopped). Returns the current version."""

    def set_sampling(
        self,
        experiment_id: str,
        name: str,
        *,
        state: str,
        sample_rate: float,
        filter_string: str | None,
        max_per_hour: int | None,
        max_concurrency: int | None,
    ) -> None:
        """Start, update or stop a registered scorer. Starting the first scorer of an
        experiment sets the feed's checkpoint to now: monitoring covers traces from here
        on (``backfill`` covers the past)."""

    def get(
        self, experiment_id: str, name: str, version: int | None = None
    ) -> ScorerRegistration: ...
    def registered(self, experiment_id: str) -> list[ScorerRegistration]: ...
    def delete(self, experiment_id: str, name: str, version: int | None = None) -> None:
        """Delete a registered scorer (every version), or one version that is not the
        current one. Its results (Feedback on traces) stay; its jobs go (a scorer
        registered again under the name starts at version 1 and judges every trace
        afresh)."""

    def monitored_experiments(self) -> list[str]:
        """Experiments with at least one registered scorer."""

    def enqueue(self, experiment_id: str, *, limit: int = 1000) -> int:
        """Read up to ``limit`` new changes of the experiment, record each trace's
        outcome for every registered scorer, and move the checkpoint past them, in one
        transaction. Returns how many changes were read (0: the worker is caught up)."""

    def backfill(
        self,
        experiment_id: str,
        names: Sequence[str],
        *,
        start_time_ms: int | None,
        end_time_ms: int | None,
        filter_string: str | None,
        sample_rates: dict[str, float] | None = None,
    ) -> int:
        """Queue the experiment's traces in [start, end) (and matching the filter) for
        the named scorers' current versions, each with the scorer's own filter and
        sampling (or the rate given). Traces already judged by that version are left
        alone. Returns how many traces were looked at."""

    def claim(
        self, experiment_id: str, token: str, *, limit: int, claim_seconds: float
    ) -> list[MonitorJob]:
        """Take up to ``limit`` jobs: expired claims first, then pending jobs in arrival
        order, within each scorer's hourly budget. Pending live-traffic jobs of a
        stopped scorer become ``stopped`` here (backfilled ones are still judged)."""

    def finish(self, token: str, results: Sequence[FinishedJob]) -> int:
        """Record results of jobs claimed with ``token``, with their Feedback, in one
        transaction. Jobs no longer held under that token (the claim expired and another
        worker took it) are left to that worker. Returns how many were recorded."""

    def take_lease(self, name: str, holder: str, seconds: float) -> None:
        """Hold (or renew) the lease ``name`` for ``seconds``; ``MonitorBusyError``
        naming the holder if someone else holds it."""

    def release_lease(self, name: str, holder: str) -> None: ...
    def status(self, experiment_id: str) -> list[ScorerStatus]:
        """Per registered scorer: outcome counts (all versions), the oldest trace not
        judged yet (open jobs, and changes the feed has not read), the budget."""

    def score_buckets(
        self, experiment_id: str, name: str, *, bucket_ms: int, since_ms: int
    ) -> list[dict[str, Any]]:
        """The scorer's judgments by trace time bucket: count, mean numeric score,
        errors."""

    def judged_traces(
        self, experiment_id: str, name: str, *, start_ms: int, end_ms: int, limit: int = 200
    ) -> list[dict[str, Any]]:
        """The traces behind one bucket: each with the scorer's result."""

    def attempts(self, experiment_id: str) -> dict[tuple[str, str, int], int]:
        """How many times each job was claimed, by (trace id, scorer name, version)."""

    def outcomes(self, experiment_id: str) -> dict[tuple[str, str, int], str]:
        """Every job's outcome, by (trace id, scorer name, version): for reconciling
        counts."""
