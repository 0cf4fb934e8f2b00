"""A trace: its info (one row of metadata) and its data (the spans)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from evaltrace.entities.assessment import Assessment, Expectation, Feedback
from evaltrace.entities.dataset import (
    DatasetRecord,
    DatasetRecordSource,
    DatasetRecordSourceType,
    inputs_key,
)
from evaltrace.entities.html import NOTEBOOK_DISPLAY, Cell, html_table, short_text
from evaltrace.entities.span import Span
from evaltrace.entities.trace_location import TraceLocation

__all__ = ["Trace", "TraceData", "TraceInfo", "TraceState"]


class TraceState(str, Enum):
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceInfo:
    """What a listing shows. Times are in milliseconds (``request_time`` since the epoch)."""

    trace_id: str
    experiment_id: str
    request_time: int
    execution_duration: int | None
    state: TraceState
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    trace_metadata: dict[str, str] = field(default_factory=dict)
    assessments: tuple[Assessment, ...] = ()
    token_usage: dict[str, int] | None = None  # input_tokens, output_tokens, total_tokens
    cost_usd: float | None = None  # estimated, for models with a known price

    @property
    def request_id(self) -> str:
        """The reference system's older name for ``trace_id``."""
        return self.trace_id

    # The reference system's names (request_time and execution_duration are its MLflow 3
    # names too); these say the unit.
    @property
    def timestamp_ms(self) -> int:
        return self.request_time

    @property
    def execution_time_ms(self) -> int | None:
        return self.execution_duration

    @property
    def status(self) -> TraceState:
        return self.state

    @property
    def request_metadata(self) -> dict[str, str]:
        return self.trace_metadata

    @property
    def trace_location(self) -> TraceLocation:
        """The reference's spelling of where the trace lives: its experiment."""
        return TraceLocation.from_experiment_id(self.experiment_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "experiment_id": self.experiment_id,
            "request_time": self.request_time,
            "execution_duration": self.execution_duration,
            "state": self.state.value,
            "request_preview": self.request_preview,
            "response_preview": self.response_preview,
            "client_request_id": self.client_request_id,
            "tags": dict(self.tags),
            "trace_metadata": dict(self.trace_metadata),
            "assessments": [a.to_dict() for a in self.assessments],
            "token_usage": self.token_usage,
            "cost_usd": self.cost_usd,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceInfo:
        return cls(
            trace_id=data["trace_id"],
            experiment_id=str(data["experiment_id"]),
            request_time=int(data["request_time"]),
            execution_duration=data.get("execution_duration"),
            state=TraceState(data.get("state", "OK")),
            request_preview=data.get("request_preview"),
            response_preview=data.get("response_preview"),
            client_request_id=data.get("client_request_id"),
            tags=dict(data.get("tags") or {}),
            trace_metadata=dict(data.get("trace_metadata") or {}),
            assessments=tuple(Assessment.from_dict(a) for a in data.get("assessments") or ()),
            token_usage=data.get("token_usage"),
            cost_usd=data.get("cost_usd"),
        )


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class TraceData:
    """The spans of a trace, parents before children (ordered by start time)."""

    spans: tuple[Span, ...] = ()

    @property
    def root_span(self) -> Span | None:
        """The span without a parent in this trace."""
        ids = {span.span_id for span in self.spans}
        for span in self.spans:
            if span.parent_id is None or span.parent_id not in ids:
                return span
        return None

    def _get_root_span(self) -> Span | None:
        """``root_span`` by the reference system's name."""
        return self.root_span

    @property
    def request(self) -> str | None:
        """The root span's inputs as JSON text; None when it has none."""
        root = self.root_span
        return None if root is None or root.inputs is None else _json_text(root.inputs)

    @property
    def response(self) -> str | None:
        """The root span's outputs as JSON text; None when it has none."""
        root = self.root_span
        return None if root is None or root.outputs is None else _json_text(root.outputs)

    @property
    def intermediate_outputs(self) -> dict[str, Any] | None:
        """The outputs of the spans under the root, by span name (the reference's
        ``intermediate_outputs``: what a scorer checks besides the final answer). A name
        several spans share is numbered in span order (``llm_1``, ``llm_2``), so none is
        lost; None for a trace of one span, as in the reference."""
        if len(self.spans) <= 1:
            return None
        shared = {name for name, count in Counter(s.name for s in self.spans).items() if count > 1}
        seen: Counter[str] = Counter()
        found: dict[str, Any] = {}
        for span in self.spans:
            name = span.name
            if name in shared:
                seen[name] += 1
                name = f"{name}_{seen[name]}"
            if span.parent_id is not None and span.outputs is not None:
                found[name] = span.outputs
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"spans": [span.to_dict() for span in self.spans]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceData:
        return cls(spans=tuple(Span.from_dict(span) for span in data.get("spans") or ()))


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    info: TraceInfo
    data: TraceData = field(default_factory=TraceData)

    def __repr__(self) -> str:
        """Short (the whole trace is ``to_dict()``): a REPL shows it, a notebook lists them."""
        info = self.info
        return (
            f"Trace(trace_id={info.trace_id!r}, state={info.state.value}, "
            f"request_time={info.request_time}, spans={len(self.data.spans)}, "
            f"assessments={len(info.assessments)})"
        )

    def _repr_html_(self) -> str | None:
        """A notebook shows the trace as a small table of its spans, names indented by depth
        (the first 200), unless that display is off. Trace content is untrusted: every value
        is escaped."""
        if not NOTEBOOK_DISPLAY.on:
            return None  # the notebook shows the repr
        info = self.info
        rows = [
            [
                Cell(span.name, indent=depth * 1.2),
                span.span_type,
                span.status.status_code.value,
                Cell(
                    ""
                    if span.end_time_ns is None
                    else f"{(span.end_time_ns - span.start_time_ns) / 1e6:,.1f} ms",
                    right=True,
                ),
            ]
            for depth, span in _spans_by_depth(self.data.spans)[:_HTML_MAX_SPANS]
        ]
        preview = short_text(info.request_preview)
        return html_table(
            f"Trace {info.trace_id} {info.state.value}" + (f" · {preview}" if preview else ""),
            ["span", "type", "status", "duration"],
            rows,
            total=len(self.data.spans),
        )

    def search_spans(
        self,
        name: str | re.Pattern[str] | None = None,
        span_type: str | None = None,
        span_id: str | None = None,
    ) -> list[Span]:
        """Spans matching every given criterion (``None`` matches anything); ``name`` is a
        name, or a compiled regular expression found anywhere in the name (``re.search``, as
        the reference does: anchor it with ``^``/``$`` for the whole name)."""
        return [
            span
            for span in self.data.spans
            if (
                name is None
                or (
                    name.search(span.name) is not None
                    if isinstance(name, re.Pattern)
                    else span.name == name
                )
            )
            and (span_type is None or span.span_type == str(span_type))
            and (span_id is None or span.span_id == span_id)
        ]

    def search_assessments(
        self,
        name: str | None = None,
        type: str | None = None,
        span_id: str | None = None,
        valid_only: bool = True,
    ) -> list[Assessment]:
        """Assessments matching every given criterion; ``type`` is "expectation" or "feedback"."""
        kinds = {"expectation": Expectation, "feedback": Feedback}
        if type is not None and type not in kinds:
            from evaltrace.exceptions import InvalidArgumentError

            raise InvalidArgumentError(f"type must be 'expectation' or 'feedback', got {type!r}")
        return [
            a
            for a in self.info.assessments
            if (name is None or a.name == name)
            and (type is None or isinstance(a, kinds[type]))
            and (span_id is None or a.span_id == span_id)
            and (a.valid or not valid_only)
        ]

    def to_dataset_record(self) -> DatasetRecord:
        """This trace as a test case: root inputs and outputs, the latest valid expectation of
        each name (feedback is not ground truth), and a TRACE source pointing back here."""
        root = self.data._get_root_span()
        inputs = root.inputs if root is not None else None
        if not isinstance(inputs, dict):
            inputs = {"inputs": inputs}
        expectations: dict[str, Any] = {}
        provenance: dict[str, Any] = {}
        latest = sorted(
            (a for a in self.info.assessments if isinstance(a, Expectation) and a.valid),
            key=lambda a: (a.create_time_ms, a.assessment_id),
        )
        for expectation in latest:
            expectations[expectation.name] = expectation.value
            provenance[expectation.name] = expectation.source.to_dict()
        source_data: dict[str, Any] = {"trace_id": self.info.trace_id}
        session = self.info.trace_metadata.get("session_id") or self.info.trace_metadata.get(
            "mlflow.trace.session"
        )
        if session:
            source_data["session_id"] = session
        if provenance:
            source_data["expectation_sources"] = provenance
        return DatasetRecord(
            dataset_record_id="",
            record_id=inputs_key(inputs),
            inputs=inputs,
            outputs=root.outputs if root is not None else None,
            expectations=expectations,
            source=DatasetRecordSource(
                source_type=DatasetRecordSourceType.TRACE, source_data=source_data
            ),
            created_time=self.info.request_time,
            last_update_time=self.info.request_time,
        )

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "data": self.data.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        return cls(
            info=TraceInfo.from_dict(data["info"]),
            data=TraceData.from_dict(data.get("data") or {}),
        )

    def to_json(self, pretty: bool = False) -> str:
        return json.dumps(self.to_dict(), indent=2 if pretty else None, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Trace:
        return cls.from_dict(json.loads(text))


_HTML_MAX_SPANS = 200


def _spans_by_depth(spans: Sequence[Span]) -> list[tuple[int, Span]]:
    """Spans in tree order (parents first, children by start time) with their depth; spans
    whose parent is missing count as roots."""
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[Span]] = defaultdict(list)
    for span in spans:
        children[span.parent_id if span.parent_id in ids else None].append(span)
    ordered: list[tuple[int, Span]] = []
    stack = [(0, span) for span in sorted(children[None], key=_start, reverse=True)]
    seen: set[int] = set()
    while stack:
        depth, span = stack.pop()
        if id(span) in seen:
            continue
        seen.add(id(span))
        ordered.append((depth, span))
        below = sorted(children.get(span.span_id, ()), key=_start, reverse=True)
        stack.extend((depth + 1, child) for child in below)
    ordered.extend((0, span) for span in spans if id(span) not in seen)  # in a parent cycle
    return ordered


def _start(span: Span) -> int:
    return span.start_time_ns
