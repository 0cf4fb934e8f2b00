"""A trace (or a part of one) as the rows the trace path writes, built apart from the store.

Built from entities in rows.py's shapes, these are plain tuples: cheap to hand to the driver,
and to pickle, which lets OTLP ingest build them in worker processes (evaltrace/otlp/workers.py)
while the server process only writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evaltrace._gil import GilCourtesy
from evaltrace.entities import Trace, TraceState
from evaltrace.entities.attribute_keys import COST_ATTRIBUTE, USAGE_ATTRIBUTES
from evaltrace.store import rows
from evaltrace.store.assessment_sql import assessment_to_row

__all__ = ["SUMMED_ATTRIBUTES", "TraceRows", "trace_rows", "traces_rows"]

# Span attributes a trace's summary sums, to its column names.
SUMMED_ATTRIBUTES = {**USAGE_ATTRIBUTES, COST_ATTRIBUTE: "cost_usd"}
_YIELD_EVERY = 16  # traces turned into rows between two hand-backs of the GIL
_STATE = rows.TRACE_COLUMNS.index("state")


@dataclass(slots=True)
class TraceRows:
    """One trace's rows: its trace row (rows.TRACE_COLUMNS), tags and metadata, and each
    span's row with its attribute rows (both but the span key, given when written)."""

    trace_row: rows.Row
    tag_rows: list[rows.Row] = field(default_factory=list)
    metadata_rows: list[rows.Row] = field(default_factory=list)
    spans: list[tuple[rows.Row, list[rows.Row]]] = field(default_factory=list)
    # Assessments that came with the trace (logged while it ran; OTLP evaluation events).
    assessment_rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def trace_id(self) -> str:
        return str(self.trace_row[0])

    @property
    def in_progress(self) -> bool:
        """A part without its root: the stored summary is not replaced."""
        return bool(self.trace_row[_STATE] == TraceState.IN_PROGRESS.value)

    @property
    def sums_usage(self) -> bool:
        """A span carries token usage or cost (an attribute row has the key): the trace's
        sums are redone (merge_rows asks only of parts of stored traces)."""
        return any(
            row[0] in SUMMED_ATTRIBUTES for _, attributes in self.spans for row in attributes
        )

    def in_experiment(self, experiment_id: int) -> None:
        """File the trace under another experiment (rows built before it was known)."""
        row = self.trace_row
        self.trace_row = (row[0], experiment_id, *row[2:])  # TRACE_COLUMNS: trace_id first


def trace_rows(trace: Trace) -> TraceRows:
    trace_row, tags, metadata = rows.trace_to_rows(trace)
    return TraceRows(
        trace_row=trace_row,
        tag_rows=tags,
        metadata_rows=metadata,
        spans=[(rows.span_to_row(s), rows.span_attribute_rows(s)) for s in trace.data.spans],
        assessment_rows=[assessment_to_row(a) for a in trace.info.assessments],
    )


def traces_rows(traces: Sequence[Trace]) -> list[TraceRows]:
    """The rows of each trace, handing the GIL back now and then (the writer runs on a thread
    of the application's process)."""
    built = []
    courtesy = GilCourtesy(_YIELD_EVERY)
    for trace in traces:
        built.append(trace_rows(trace))
        courtesy.step()
    return built
