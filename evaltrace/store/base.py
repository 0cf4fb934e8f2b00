"""The interface between evaltrace and where traces are kept."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from evaltrace.entities import (
    Assessment,
    DatasetRecordSource,
    Experiment,
    Span,
    Trace,
    TraceInfo,
)
from evaltrace.search import Expr, OrderKey
from evaltrace.store.facets import (
    BrowseFacet,
    DatasetsFacet,
    ExperimentsFacet,
    LabelingFacet,
    MonitorsFacet,
    PromptsFacet,
    RunsFacet,
)

if TYPE_CHECKING:  # rows.py needs SQLAlchemy, which `import evaltrace` must not load
    from evaltrace.store.trace_rows import TraceRows

__all__ = ["RecordCandidate", "TracePage", "TraceStore"]


class RecordCandidate(Protocol):
    """A dataset record about to be merged (``datasets.records.Candidate``). It carries the
    merge rules; the store applies them inside its transaction to what it holds."""

    @property
    def record_id(self) -> str: ...
    @property
    def inputs(self) -> dict[str, Any]: ...
    @property
    def outputs(self) -> Any: ...
    @property
    def expectations(self) -> dict[str, Any]: ...
    @property
    def tags(self) -> dict[str, Any]: ...
    @property
    def source(self) -> DatasetRecordSource: ...
    def content_hash(self) -> str: ...
    def merged_into(self, earlier: Any) -> RecordCandidate: ...
    def merged_into_stored(self, stored: Mapping[str, Any]) -> RecordCandidate: ...


@dataclass(frozen=True, slots=True)
class TracePage:
    traces: list[Trace]
    next_page_token: str | None


class TraceStore(ABC):
    """Reads and writes traces and experiments. Implementations are thread-safe."""

    # The facets, typed by their protocols (store/facets.py; the SQL store's in *_sql.py).
    datasets: DatasetsFacet
    experiments: ExperimentsFacet
    prompts: PromptsFacet
    runs: RunsFacet
    browse: BrowseFacet
    labeling: LabelingFacet
    monitors: MonitorsFacet

    @property
    def one_writer_at_a_time(self) -> bool:
        """Whether the store takes one writing process at a time (SQLite): background jobs
        such as the monitor worker then run in one process only."""
        return False

    def expect_heavy_writes(self) -> None:
        """Continuous heavy writing follows (OTLP ingest): move what housekeeping can be
        moved off the writers' path (SQLite: WAL checkpoints on a thread of their own)."""
        return None  # nothing to move, by default

    def after_fork_in_child(self) -> None:
        """In a forked child: drop what belongs to the parent (pooled connections)."""
        return None

    @abstractmethod
    def write_traces(self, traces: Sequence[Trace]) -> None:
        """Write finished traces, with the assessments logged on them while they ran, in one
        transaction. Writing a trace already stored is a no-op."""

    @abstractmethod
    def stored_experiments(self, trace_ids: Sequence[str]) -> dict[str, str]:
        """The experiment id of each of ``trace_ids`` that is stored (others are left out)."""

    @abstractmethod
    def append_spans(self, spans: Sequence[Span]) -> None:
        """Add spans to traces already stored, in one transaction (spans that ended after
        their root). Idempotent; each trace's token usage and cost are summed
        again over all its spans. Raises ``TraceNotFoundError`` (writes nothing) if a trace is
        not stored."""

    @abstractmethod
    def merge_traces(self, traces: Sequence[Trace]) -> None:
        """Store parts of traces (OTLP batches: any order, maybe re-sent) in one
        transaction: a new trace as given, a stored one grown by the part's spans, its summary
        from the part holding its root (a part without it is IN_PROGRESS), its usage summed
        again."""

    @abstractmethod
    def merge_rows(self, traces: Sequence[TraceRows]) -> None:
        """merge_traces for parts already turned into rows (trace_rows.py)."""

    @abstractmethod
    def merge_row_shares(self, shares: Iterable[Sequence[TraceRows]]) -> None:
        """merge_rows for one request's traces coming share by share (no trace in two)."""

    @abstractmethod
    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        """Set (or replace) one tag of a stored trace; ``TraceNotFoundError`` if none."""

    @abstractmethod
    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """Remove one tag; ``NotFoundError`` if the trace has no such tag."""

    @abstractmethod
    def get_trace(self, trace_id: str) -> Trace:
        """The trace with its spans; raises ``TraceNotFoundError``."""

    @abstractmethod
    def get_traces(self, trace_ids: Sequence[str]) -> list[Trace]:
        """The stored ones of these traces, with their spans (ids not stored are left out)."""

    @abstractmethod
    def get_trace_info(self, trace_id: str) -> TraceInfo:
        """The trace's summary, tags, metadata and assessments, without spans."""

    @abstractmethod
    def search_traces(
        self,
        experiment_ids: Sequence[str],
        *,
        filter: Expr | None = None,
        order_by: Sequence[OrderKey] = (),
        max_results: int,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> TracePage:
        """One page of matching traces, in ``order_by`` order (default: newest first)."""

    @abstractmethod
    def log_assessments(self, assessments: Sequence[Assessment]) -> None:
        """Insert in one transaction; raises if a trace or span does not exist (writes nothing)."""

    @abstractmethod
    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment: ...

    @abstractmethod
    def supersede_assessment(self, old: Assessment, new: Assessment) -> None:
        """Mark ``old`` invalid and insert ``new``, in one transaction."""

    @abstractmethod
    def replace_assessment(self, assessment: Assessment) -> None:
        """Rewrite an assessment in place (same id)."""

    @abstractmethod
    def delete_assessment(self, trace_id: str, assessment_id: str) -> None: ...

    @abstractmethod
    def assessment_history(self, trace_id: str, name: str) -> list[Assessment]: ...

    @abstractmethod
    def get_or_create_experiment(self, name: str) -> Experiment: ...

    @abstractmethod
    def get_experiment(self, experiment_id: str) -> Experiment: ...

    @abstractmethod
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...

    @abstractmethod
    def set_timeout(self, seconds: float) -> None:
        """Bound each call from now on by ``seconds`` (0: no bound)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (the store stays usable and reconnects on demand)."""
