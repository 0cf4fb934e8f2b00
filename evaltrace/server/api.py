"""The JSON API under ``/api/`` (documented at ``/openapi.json``): what the pages do."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from evaltrace.entities import AssessmentSource, AssessmentSourceType
from evaltrace.entities.limits import MAX_NAME_CHARS, MAX_TAG_KEY_CHARS
from evaltrace.server.dependencies import Datasets, Labeling, Monitors, Runs, Sessions, Traces
from evaltrace.server.encoding import JsonResponse, outline_json, run_json, trace_summary
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


class AddToDatasetIn(BaseModel):
    trace_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=1000
    )
    dataset_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


@router.get("/experiments", summary="All experiments")
def list_experiments(svc: Traces) -> Any:
    return {"experiments": [e.to_dict() for e in svc.experiments()]}


@router.get("/experiments/{experiment_id}/monitors", summary="Registered scorers' status")
def monitor_status(experiment_id: str, svc: Monitors) -> Any:
    """Per registered scorer: state, sampling, outcome counts, lag, budget."""
    svc.experiment(experiment_id)  # 404 for an unknown experiment
    return [status.to_dict() for status in svc.monitor_status(experiment_id)]


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
    "/experiments/{experiment_id}/sessions/{session_id:path}",
    summary="A conversation's turns, oldest first, a page at a time",
)
def session_turns(
    experiment_id: str,
    session_id: str,
    svc: Sessions,
    page_token: str | None = Query(default=None, max_length=10_000),
) -> Any:
    svc.experiment(experiment_id)  # 404 for an unknown experiment
    traces, next_token = svc.session_traces(experiment_id, session_id, page_token)
    return {
        "session_id": session_id,
        "turns": [trace.info.to_dict() for trace in traces],
        "next_page_token": next_token,
    }


@router.get(
    "/experiments/{experiment_id}/monitors/{name}/traces",
    summary="The traces a registered scorer judged in a time range",
)
def monitor_traces(
    experiment_id: str,
    name: str,
    svc: Monitors,
    start: int = Query(ge=0, lt=2**63, description="From this trace time (epoch ms)"),
    end: int = Query(ge=0, lt=2**63, description="Before this trace time (epoch ms)"),
) -> Any:
    svc.experiment(experiment_id)
    return {"traces": svc.monitor_traces(experiment_id, name, start, end)}


@router.get(
    "/traces/{trace_id}/assessments/history/{name:path}",
    summary="Every version of an assessment, overridden ones included",
)
def assessment_history(trace_id: str, name: str, svc: Traces) -> Any:
    return {"history": [a.to_dict() for a in svc.assessment_history(trace_id, name)]}


@router.get("/labeling", summary="Labeling sessions")
def labeling_sessions(svc: Labeling) -> Any:
    return {"sessions": [_labeling_session_json(s) for s in svc.sessions()]}


@router.get("/labeling/{session_id}", summary="A labeling session: its items and progress")
def labeling_session(session_id: str, svc: Labeling) -> Any:
    session = svc.session(session_id)
    items = session.items()
    return {
        **_labeling_session_json(session),
        "progress": svc.progress(session, None),
        "items": [
            {
                "item_id": item.item_id,
                "trace_id": item.trace_id,
                "state": item.state,
                "reviewers": item.reviewers,
                "labels": [label.to_dict() for label in item.labels],
            }
            for item in items
        ],
        "agreement": {
            name: dataclasses.asdict(found) for name, found in session.agreement(items).items()
        },
    }


def _labeling_session_json(session: Any) -> dict[str, Any]:
    return {
        "labeling_session_id": session.labeling_session_id,
        "name": session.name,
        "experiment_id": session.experiment_id,
        "assigned_users": session.assigned_users,
        "label_schemas": session.label_schemas,
        "labels_per_item": session.labels_per_item,
    }


@router.get("/experiments/{experiment_id}/sessions", summary="Conversations of an experiment")
def list_sessions(
    experiment_id: str, svc: Sessions, offset: int = Query(default=0, ge=0, lt=2**62)
) -> Any:
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
def list_datasets(svc: Datasets, offset: int = Query(default=0, ge=0, lt=2**62)) -> Any:
    page = svc.datasets(offset=offset)
    return {
        "total": page.total,
        "next_offset": page.next_offset,
        "datasets": [_dataset_json(d) for d in page.items],
    }


@router.get(
    "/datasets/{name:path}/diff", summary="Records added, removed and changed between two versions"
)
def dataset_diff(name: str, svc: Datasets, a: int = Query(ge=0), b: int = Query(ge=0)) -> Any:
    diff = svc.dataset_diff(name, a, b)
    return {
        "name": name,
        "version_a": a,
        "version_b": b,
        "added": [r.to_dict() for r in diff["added"]],
        "removed": [r.to_dict() for r in diff["removed"]],
        "changed": [{"a": old.to_dict(), "b": new.to_dict()} for old, new in diff["changed"]],
    }


@router.get("/datasets/{name:path}", summary="A dataset and its records (optionally at a version)")
def get_dataset(name: str, svc: Datasets, version: int | None = Query(default=None, ge=0)) -> Any:
    dataset = svc.dataset(name, version)
    return {**_dataset_json(dataset), "records": [r.to_dict() for r in dataset.records]}


@router.post("/datasets/add-traces", summary="Merge traces into a dataset (created if new)")
def add_traces_to_dataset(body: AddToDatasetIn, svc: Datasets) -> Any:
    version = svc.add_to_dataset(body.trace_ids, body.dataset_name)
    return {"dataset_name": body.dataset_name, "version": version}


@router.get("/runs", summary="Evaluation runs, newest first")
def list_runs(svc: Runs, model_id: str | None = Query(default=None, max_length=1000)) -> Any:
    return {"runs": [run_json(run) for run in svc.runs(model_id)]}


@router.get("/runs/compare", summary="Compare two runs record by record")
def compare(svc: Runs, run_a: str, run_b: str) -> Any:
    rows, deltas = svc.compare(run_a, run_b)
    return {"rows": rows, "metric_deltas": deltas}


@router.get("/runs/{run_id}", summary="A run with its per-record results")
def get_run(run_id: str, svc: Runs) -> Any:
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
