"""Assessment rows: writes that keep history, reads that rebuild entities."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select, tuple_, update

from evaltrace._json import dumps_json, loads_json
from evaltrace.entities import (
    Assessment,
    AssessmentError,
    AssessmentSource,
    Expectation,
    Feedback,
)
from evaltrace.store import models
from evaltrace.store.rows import scalar_view

__all__ = [
    "assessment_from_row",
    "assessment_to_row",
    "existing_spans",
    "existing_traces",
    "insert_assessments",
    "set_valid",
]


def assessment_to_row(assessment: Assessment) -> dict[str, Any]:
    feedback = assessment if isinstance(assessment, Feedback) else None
    has_value = not (feedback and feedback.value is None and feedback.error is not None)
    view = (
        scalar_view(assessment.value)
        if has_value
        else {
            "value_type": None,
            "value_text": None,
            "value_num": None,
        }
    )
    return {
        "assessment_id": assessment.assessment_id,
        "trace_id": assessment.trace_id,
        "span_id": assessment.span_id,
        "name": assessment.name,
        "kind": assessment.kind,
        "value_json": dumps_json(assessment.value) if has_value else None,
        **view,
        "rationale": feedback.rationale if feedback else None,
        "source_type": assessment.source.source_type.value,
        "source_id": assessment.source.source_id,
        "metadata": dumps_json(assessment.metadata) if assessment.metadata else None,
        "error": dumps_json(feedback.error.to_dict()) if feedback and feedback.error else None,
        "create_time": assessment.create_time_ms,
        "update_time": assessment.last_update_time_ms,
        "valid": assessment.valid,
        "overrides": assessment.overrides,
    }


def assessment_from_row(row: Any) -> Assessment:
    common = {
        "assessment_id": row["assessment_id"],
        "trace_id": row["trace_id"],
        "name": row["name"],
        "value": None if row["value_json"] is None else loads_json(row["value_json"]),
        "source": AssessmentSource(source_type=row["source_type"], source_id=row["source_id"]),
        "create_time_ms": row["create_time"],
        "last_update_time_ms": row["update_time"],
        "span_id": row["span_id"],
        "metadata": loads_json(row["metadata"]) if row["metadata"] else {},
        "overrides": row["overrides"],
        "valid": bool(row["valid"]),
    }
    if row["kind"] == Expectation.kind:
        return Expectation(**common)
    error = loads_json(row["error"]) if row["error"] else None
    return Feedback(
        **common,
        rationale=row["rationale"],
        error=AssessmentError.from_dict(error) if error else None,
    )


def insert_assessments(connection: Connection, assessments: Sequence[Assessment]) -> None:
    if assessments:
        connection.execute(models.assessments.insert(), [assessment_to_row(a) for a in assessments])


def set_valid(connection: Connection, assessment_id: str, *, valid: bool) -> None:
    a = models.assessments
    connection.execute(update(a).where(a.c.assessment_id == assessment_id).values(valid=valid))


def existing_traces(connection: Connection, trace_ids: Iterable[str]) -> set[str]:
    t = models.traces
    wanted = sorted(set(trace_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        found.update(
            connection.execute(select(t.c.trace_id).where(t.c.trace_id.in_(chunk))).scalars()
        )
    return found


def existing_spans(
    connection: Connection, pairs: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    s = models.spans
    wanted = sorted(set(pairs))
    found: set[tuple[str, str]] = set()
    for start in range(0, len(wanted), 400):
        chunk = wanted[start : start + 400]
        rows = connection.execute(
            select(s.c.trace_id, s.c.span_id).where(tuple_(s.c.trace_id, s.c.span_id).in_(chunk))
        )
        found.update((row[0], row[1]) for row in rows)
    return found


def in_history_order(versions: list[Assessment]) -> list[Assessment]:
    """Oldest first; a version made in the same millisecond as the one it overrides still
    comes after it (creation times alone tie, and a random id would break the tie)."""
    by_id = {v.assessment_id: v for v in versions}

    def depth(version: Assessment) -> int:
        hops, seen = 0, {version.assessment_id}
        while version.overrides in by_id and version.overrides not in seen:
            version = by_id[version.overrides]
            seen.add(version.assessment_id)
            hops += 1
        return hops

    return sorted(versions, key=lambda v: (v.create_time_ms, depth(v), v.assessment_id))
