"""The JSON API under ``/api/`` (documented at ``/openapi.json``): what the pages do."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from evaltrace.entities import AssessmentSource, AssessmentSourceType
from evaltrace.entities.limits import MAX_NAME_CHARS, MAX_TAG_KEY_CHARS
from evaltrace.server.encoding import JsonResponse, outline_json, run_json, trace_summary
from evaltrace.server.service import MAX_PAGE, TraceService

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)


def service(request: Request) -> TraceService:
    return request.app.state.service  # type: ignore[no-any-return]


Service = Annotated[TraceService, Depends(service)]


class AssessmentIn(BaseModel):
    """An expectation (ground truth) or a feedback (a judgment) for a trace or one of its spans."""

    assessment_type: Literal["expectation", "feedback"]
    name: str = Field(min_length=1, max_length=MAX_TAG_KEY_CHARS)
    value: Any = None
    rationale: str | None = Field(default=None, max_length=100_000)
    source_type: Literal["HUMAN", "LLM_JUDGE", "CODE"] = "HUMAN"
    source_id: str | None = Field(default=None, max_length=MAX_TAG_KEY_CHARS)
    span_id: str | None = Field(default=None, min_length=1, max_length=16)


class AddToDatasetIn(BaseModel):
    trace_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=1000
    )
    dataset_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


@router.get("/experiments", summary="All experiments")
def list_experiments(svc: Service) -> Any:
    return {"experiments": [e.to_dict() for e in svc.experiments()]}


@router.get("/experiments/{experiment_id}/monitors", summary="Registered scorers' status")
def monitor_status(experiment_id: str, svc: Service) -> Any:
    """Per registered scorer: state, sampling, outcome counts, lag, budget."""
    svc.experiment(experiment_id)  # 404 for an unknown experiment
    return [status.to_dict() for status in svc.monitor_status(experiment_id)]


@router.get("/traces", summary="Search the traces of an experiment")
def search_traces(
    svc: Service,
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
def get_trace(trace_id: str, svc: Service) -> Any:
    return svc.trace(trace_id).to_dict()


@router.get("/traces/{trace_id}/outline", summary="A trace's spans without their payloads")
def get_outline(trace_id: str, svc: Service) -> Any:
    return outline_json(svc.outline(trace_id))


@router.get("/traces/{trace_id}/spans/{span_id}", summary="One span with its payloads")
def get_span(trace_id: str, span_id: str, svc: Service) -> Any:
    return svc.span(trace_id, span_id).to_dict()


@router.delete("/traces/{trace_id}", summary="Delete a trace")
def delete_trace(trace_id: str, svc: Service) -> Any:
    svc.delete_trace(trace_id)
    return {"deleted": trace_id}


@router.post("/traces/{trace_id}/assessments", status_code=201, summary="Log an assessment")
def add_assessment(trace_id: str, body: AssessmentIn, svc: Service) -> Any:
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
def edit_assessment(trace_id: str, assessment_id: str, body: AssessmentEdit, svc: Service) -> Any:
    source = AssessmentSource(
        source_type=AssessmentSourceType.HUMAN, source_id=body.source_id or "ui"
    )
    edited = svc.edit_assessment(
        trace_id, assessment_id, value=body.value, rationale=body.rationale, source=source
    )
    return edited.to_dict()


@router.delete("/traces/{trace_id}/assessments/{assessment_id}", summary="Delete an assessment")
def delete_assessment(trace_id: str, assessment_id: str, svc: Service) -> Any:
    svc.delete_assessment(trace_id, assessment_id)
    return {"deleted": assessment_id}


@router.get("/experiments/{experiment_id}/sessions", summary="Conversations of an experiment")
def list_sessions(experiment_id: str, svc: Service, offset: int = Query(default=0, ge=0)) -> Any:
    page = svc.sessions(experiment_id, offset=offset)
    return {
        "next_offset": page.next_offset,
        "sessions": [
            {
                "session_id": s.session_id,
                "trace_count": s.trace_count,
                "first_request_time": s.first_request_time,
                "last_request_time": s.last_request_time,
            }
            for s in page.items
        ],
    }


@router.get("/datasets", summary="All evaluation datasets")
def list_datasets(svc: Service, offset: int = Query(default=0, ge=0)) -> Any:
    page = svc.datasets(offset=offset)
    return {
        "total": page.total,
        "next_offset": page.next_offset,
        "datasets": [_dataset_json(d) for d in page.items],
    }


@router.get("/datasets/{name}", summary="A dataset and its records (optionally at a version)")
def get_dataset(name: str, svc: Service, version: int | None = Query(default=None, ge=0)) -> Any:
    dataset = svc.dataset(name, version)
    return {**_dataset_json(dataset), "records": [r.to_dict() for r in dataset.records]}


@router.post("/datasets/add-traces", summary="Merge traces into a dataset (created if new)")
def add_traces_to_dataset(body: AddToDatasetIn, svc: Service) -> Any:
    version = svc.add_to_dataset(body.trace_ids, body.dataset_name)
    return {"dataset_name": body.dataset_name, "version": version}


@router.get("/runs", summary="Evaluation runs, newest first")
def list_runs(svc: Service, model_id: str | None = Query(default=None, max_length=1000)) -> Any:
    return {"runs": [run_json(run) for run in svc.runs(model_id)]}


@router.get("/runs/compare", summary="Compare two runs record by record")
def compare(svc: Service, run_a: str, run_b: str) -> Any:
    rows, deltas = svc.compare(run_a, run_b)
    return {"rows": rows, "metric_deltas": deltas}


@router.get("/runs/{run_id}", summary="A run with its per-record results")
def get_run(run_id: str, svc: Service) -> Any:
    return run_json(svc.run(run_id), with_results=True)


def _dataset_json(dataset: Any) -> dict[str, Any]:
    return {
        "dataset_id": dataset.dataset_id,
        "name": dataset.name,
        "version": dataset.version,
        "digest": dataset.digest,
        "tags": dataset.tags,
        "experiment_ids": dataset.experiment_ids,
        "created_time": dataset.created_time,
        "last_update_time": dataset.last_update_time,
        "record_count": len(dataset),
    }
