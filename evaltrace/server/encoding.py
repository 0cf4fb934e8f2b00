"""The JSON shapes the API answers with, and the response class that writes them with the
library's one JSON codec (exact big integers, no NaN surprises)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from starlette.responses import JSONResponse

from evaltrace._json import dumps_json_bytes
from evaltrace.entities import Expectation, TraceInfo
from evaltrace.entities.evaluation import EvaluationRun
from evaltrace.store.browse_sql import TraceOutline

__all__ = ["JsonResponse", "assessment_summary", "outline_json", "run_json", "trace_summary"]


class JsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps_json_bytes(content, default=str)


def assessment_summary(info: TraceInfo) -> list[dict[str, Any]]:
    """The valid assessments of a trace as (name, kind, value): what a listing shows."""
    return [
        {
            "name": a.name,
            "kind": "expectation" if isinstance(a, Expectation) else "feedback",
            "value": a.value,
        }
        for a in info.assessments
        if a.valid
    ]


def trace_summary(info: TraceInfo, name: str | None) -> dict[str, Any]:
    summary = info.to_dict()
    summary["name"] = name
    summary["assessments"] = assessment_summary(info)
    return summary


def outline_json(outline: TraceOutline) -> dict[str, Any]:
    """Spans as compact rows ``[span_id, parent_id, name, span_type, status, start_us,
    duration_us]`` with times in microseconds from the trace's first span: a 10,000-span trace
    is a few hundred kilobytes."""
    start = min((s.start_time_ns for s in outline.spans), default=0)
    rows = [
        [
            s.span_id,
            s.parent_id,
            s.name,
            s.span_type,
            s.status,
            (s.start_time_ns - start) // 1000,
            None if s.end_time_ns is None else (s.end_time_ns - s.start_time_ns) // 1000,
        ]
        for s in outline.spans
    ]
    return {
        "trace_id": outline.info.trace_id,
        "state": outline.info.state.value,
        "start_time_ns": start,
        "columns": [
            "span_id",
            "parent_id",
            "name",
            "span_type",
            "status",
            "start_us",
            "duration_us",
        ],
        "spans": rows,
    }


def run_json(run: EvaluationRun, *, with_results: bool = False) -> dict[str, Any]:
    data = asdict(run)
    if not with_results:
        data.pop("results")
    return data
