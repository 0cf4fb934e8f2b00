"""What the store's facets return beyond entities: plain records shared by every store
implementation (no SQLAlchemy here)."""

from __future__ import annotations

from dataclasses import dataclass

from evaltrace.entities import TraceInfo

__all__ = ["MergeResult", "SessionSummary", "SpanOutline", "TraceOutline"]


@dataclass(frozen=True, slots=True)
class SpanOutline:
    """A span without its inputs, outputs, attributes and events: enough to draw the tree."""

    span_id: str
    parent_id: str | None
    name: str
    span_type: str
    status: str
    start_time_ns: int
    end_time_ns: int | None


@dataclass(frozen=True, slots=True)
class TraceOutline:
    info: TraceInfo
    spans: list[SpanOutline]  # by start time


@dataclass(frozen=True, slots=True)
class SessionSummary:
    session_id: str
    trace_count: int
    first_request_time: int  # ms
    last_request_time: int  # ms


@dataclass(frozen=True, slots=True)
class MergeResult:
    version: int
    inserted: int
    updated: int
    unchanged: int
    deleted: int = 0
