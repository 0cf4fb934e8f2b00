"""The JSON API of evaluation datasets: the list, one dataset, a diff, an export, traces added: the
twin of its pages (``/api/...``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from evaltrace.entities.limits import MAX_NAME_CHARS
from evaltrace.server.dependencies import Datasets, Offset
from evaltrace.server.encoding import JsonResponse

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)


class AddToDatasetIn(BaseModel):
    trace_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=1000
    )
    dataset_name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)


@router.get("/datasets", summary="All evaluation datasets")
def list_datasets(svc: Datasets, offset: Offset = 0) -> Any:
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
