"""Finished spans as plain, immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["Span", "SpanEvent", "SpanStatus", "SpanStatusCode", "SpanType"]


class SpanType:
    """Well-known span types. Any string is accepted as a span type; these are the usual ones."""

    LLM = "LLM"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    CHAT_MODEL = "CHAT_MODEL"
    RETRIEVER = "RETRIEVER"
    PARSER = "PARSER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    MEMORY = "MEMORY"
    UNKNOWN = "UNKNOWN"


class SpanStatusCode(str, Enum):
    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True, kw_only=True)
class SpanStatus:
    status_code: SpanStatusCode = SpanStatusCode.UNSET
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"status_code": self.status_code.value, "description": self.description}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanStatus:
        return cls(
            status_code=SpanStatusCode(data.get("status_code", "UNSET")),
            description=data.get("description") or "",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SpanEvent:
    name: str
    timestamp_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "timestamp_ns": self.timestamp_ns, "attributes": self.attributes}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanEvent:
        return cls(
            name=data["name"],
            timestamp_ns=int(data["timestamp_ns"]),
            attributes=dict(data.get("attributes") or {}),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """One finished span. Times are in nanoseconds since the epoch (OpenTelemetry's unit)."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    span_type: str = SpanType.UNKNOWN
    start_time_ns: int
    end_time_ns: int | None
    status: SpanStatus = field(default_factory=SpanStatus)
    inputs: Any = None
    outputs: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    events: tuple[SpanEvent, ...] = ()

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_time_ns is None else self.end_time_ns - self.start_time_ns

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_id": self.parent_id,
            "name": self.name,
            "span_type": self.span_type,
            "start_time_ns": self.start_time_ns,
            "end_time_ns": self.end_time_ns,
            "status": self.status.to_dict(),
            "inputs": self.inputs,
            "outputs": self.outputs,
            "attributes": self.attributes,
            "events": [event.to_dict() for event in self.events],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        return cls(
            trace_id=data["trace_id"],
            span_id=data["span_id"],
            parent_id=data.get("parent_id"),
            name=data["name"],
            span_type=data.get("span_type") or SpanType.UNKNOWN,
            start_time_ns=int(data["start_time_ns"]),
            end_time_ns=None if data.get("end_time_ns") is None else int(data["end_time_ns"]),
            status=SpanStatus.from_dict(data.get("status") or {}),
            inputs=data.get("inputs"),
            outputs=data.get("outputs"),
            attributes=dict(data.get("attributes") or {}),
            events=tuple(SpanEvent.from_dict(event) for event in data.get("events") or ()),
        )
