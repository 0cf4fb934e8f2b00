"""The JSON API of experiments, the trace list, a trace, its spans and assessments: the twin of its
pages (``/api/...``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from evaltrace.entities import AssessmentSource, AssessmentSourceType
from evaltrace.entities.limits import MAX_NAME_CHARS, MAX_TAG_KEY_CHARS
from evaltrace.server.dependencies import Traces
from evaltrace.server.encoding import JsonResponse, outline_json, trace_summary
from evaltrace.server.service import MAX_PAGE

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)


class AssessmentIn(BaseModel):
    """An expectation (ground truth) or a feedback (a judgment) for a trace or one of its spans."""

    assessment_type: Literal["expectation", "feedback"]
    name: str = Field(min_length=1, max_length=MAX_TAG_KEY_CHARS)
    value: Any = None
    rationale: str | None = Field(default=None, max_length=100_000)
    source_type: Literal["HUMAN", "LLM_JUDGE", "CODE"] = "HUMAN"
    source_id: str | None = Field(default=None, max_length=MAX_TAG_KEY_CHARS)
    span_id: str | None = Field(default=None, min_length=1, max_length=16)


@router.get("/experiments", summary="All experiments")
def list_experiments(svc: Traces) -> Any:
    return {"experiments": [e.to_dict() for e in svc.experiments()]}


class ExperimentName(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


@router.post("/experiments", status_code=201, summary="Create an experiment")
def create_experiment(body: ExperimentName, svc: Traces) -> Any:
    return {"experiment_id": svc.create_experiment(body.name)}


@router.patch("/experiments/{experiment_id}", summary="Rename an experiment")
def rename_experiment(experiment_id: str, body: ExperimentName, svc: Traces) -> Any:
    svc.rename_experiment(experiment_id, body.name)
    return {"experiment_id": experiment_id, "name": body.name}


@router.delete("/experiments/{experiment_id}", summary="Delete an experiment (kept, hidden)")
def delete_experiment(experiment_id: str, svc: Traces) -> Any:
    svc.delete_experiment(experiment_id)
    return {"deleted": experiment_id}


@router.get("/traces", summary="Search the traces of an experiment")
def search_traces(
    svc: Traces,
    experiment_id: str = "0",
    filter: str | None = Query(default=None, max_length=10_000),
    order_by: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    max_results: int = Query(default=50, ge=1, le=MAX_PAGE),
    page_token: str | None = Query(default=None, max_length=10_000),
) -> Any:
    page = svc.search(
        experiment_id,
        filter_string=filter,
        order_by=order_by,
        max_results=max_results,
        page_token=page_token,
    )
    return {
        "traces": [trace_summary(info, page.names.get(info.trace_id)) for info in page.traces],
        "next_page_token": page.next_page_token,
    }


@router.get("/traces/{trace_id}", summary="A trace with all its spans")
def get_trace(trace_id: str, svc: Traces) -> Any:
    return svc.trace(trace_id).to_dict()


@router.get("/traces/{trace_id}/outline", summary="A trace's spans without their payloads")
def get_outline(trace_id: str, svc: Traces) -> Any:
    return outline_json(svc.outline(trace_id))


@router.get("/traces/{trace_id}/spans/{span_id}", summary="One span with its payloads")
def get_span(trace_id: str, span_id: str, svc: Traces) -> Any:
    return svc.span(trace_id, span_id).to_dict()


@router.delete("/traces/{trace_id}", summary="Delete a trace")
def delete_trace(trace_id: str, svc: Traces) -> Any:
    svc.delete_trace(trace_id)
    return {"deleted": trace_id}


@router.post("/traces/{trace_id}/assessments", status_code=201, summary="Log an assessment")
def add_assessment(trace_id: str, body: AssessmentIn, svc: Traces) -> Any:
    source = AssessmentSource(
        source_type=AssessmentSourceType(body.source_type), source_id=body.source_id or "ui"
    )
    assessment = svc.add_assessment(
        trace_id,
        kind=body.assessment_type,
        name=body.name,
        value=body.value,
        rationale=body.rationale,
        source=source,
        span_id=body.span_id,
    )
    return assessment.to_dict()


class AssessmentEdit(BaseModel):
    """A corrected value (and rationale, for a feedback); the old one stays, overridden."""

    value: Any
    rationale: str | None = Field(default=None, max_length=100_000)
    source_id: str | None = Field(default=None, max_length=MAX_TAG_KEY_CHARS)


@router.patch(
    "/traces/{trace_id}/assessments/{assessment_id}", summary="Correct an assessment (kept)"
)
def edit_assessment(trace_id: str, assessment_id: str, body: AssessmentEdit, svc: Traces) -> Any:
    source = AssessmentSource(
        source_type=AssessmentSourceType.HUMAN, source_id=body.source_id or "ui"
    )
    edited = svc.edit_assessment(
        trace_id, assessment_id, value=body.value, rationale=body.rationale, source=source
    )
    return edited.to_dict()


@router.delete("/traces/{trace_id}/assessments/{assessment_id}", summary="Delete an assessment")
def delete_assessment(trace_id: str, assessment_id: str, svc: Traces) -> Any:
    svc.delete_assessment(trace_id, assessment_id)
    return {"deleted": assessment_id}


@router.get(
    "/traces/{trace_id}/assessments/history/{name:path}",
    summary="Every version of an assessment, overridden ones included",
)
def assessment_history(trace_id: str, name: str, svc: Traces) -> Any:
    return {"history": [a.to_dict() for a in svc.assessment_history(trace_id, name)]}
