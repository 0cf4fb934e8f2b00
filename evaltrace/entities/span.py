"""Finished spans as plain, immutable values."""

from __future__ import annotations

import time
import traceback
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
    EVALUATOR = "EVALUATOR"  # a scorer or judge at work
    UNKNOWN = "UNKNOWN"


class SpanStatusCode(str, Enum):
    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class SpanStatus:
    """A span's status: ``SpanStatus("OK")``, ``SpanStatus(SpanStatusCode.ERROR, "why")``."""

    status_code: SpanStatusCode = SpanStatusCode.UNSET
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.status_code, SpanStatusCode):
            try:
                code = SpanStatusCode(str(self.status_code).upper())
            except ValueError:
                from evaltrace.exceptions import InvalidArgumentError

                raise InvalidArgumentError(
                    f"status_code must be one of OK, ERROR, UNSET; got {self.status_code!r}"
                ) from None
            object.__setattr__(self, "status_code", code)
        if self.description is None:
            object.__setattr__(self, "description", "")

    def to_dict(self) -> dict[str, Any]:
        return {"status_code": self.status_code.value, "description": self.description}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanStatus:
        return cls(
            status_code=SpanStatusCode(data.get("status_code", "UNSET")),
            description=data.get("description") or "",
        )


@dataclass(frozen=True, slots=True, init=False)
class SpanEvent:
    """Something that happened during a span: ``SpanEvent("retry", attributes={...})``. The
    time is in nanoseconds since the epoch (now, when not given; ``timestamp`` is the
    reference's name for ``timestamp_ns``)."""

    name: str
    timestamp_ns: int
    attributes: dict[str, Any]

    def __init__(
        self,
        name: str,
        timestamp_ns: int | None = None,
        attributes: dict[str, Any] | None = None,
        *,
        timestamp: int | None = None,
    ) -> None:
        when = timestamp_ns if timestamp_ns is not None else timestamp
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "timestamp_ns", time.time_ns() if when is None else when)
        object.__setattr__(self, "attributes", dict(attributes or {}))

    @property
    def timestamp(self) -> int:
        return self.timestamp_ns

    @classmethod
    def from_exception(cls, exception: BaseException) -> SpanEvent:
        """An ``exception`` event as OpenTelemetry records one (type, message, stack trace)."""
        stack = "".join(
            traceback.format_exception(type(exception), exception, exception.__traceback__)
        )
        return cls(
            "exception",
            attributes={
                "exception.type": type(exception).__name__,
                "exception.message": str(exception),
                "exception.stacktrace": stack,
            },
        )

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

    def __repr__(self) -> str:
        return (
            f"Span(name={self.name!r}, span_type={self.span_type!r}, span_id={self.span_id!r}, "
            f"parent_id={self.parent_id!r}, status={self.status.status_code.value})"
        )

    def get_attribute(self, key: str) -> Any:
        """One attribute's value, or None (the reference's ``Span.get_attribute``)."""
        return self.attributes.get(key)

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
