"""The pages of evaluation datasets: the list, one dataset, a diff, an export, traces added (each
has its JSON twin in ``api.py`` beside it)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.responses import Response

from evaltrace._json import dumps_json
from evaltrace.server.dependencies import Datasets, Offset
from evaltrace.server.pages import render

__all__ = ["router"]

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.post("/experiments/{experiment_id}/add-to-dataset")
def add_to_dataset(
    request: Request,
    experiment_id: str,
    svc: Datasets,
    dataset_name: Annotated[str, Form(max_length=500)],
    trace_id: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI's form default
) -> Response:
    version = svc.add_to_dataset(trace_id, dataset_name.strip())
    return render(
        request,
        "notice.html",
        message=f"Added {len(trace_id)} trace(s) to {dataset_name} (now version {version}).",
        link="/datasets/" + quote(dataset_name.strip(), safe=""),
    )


@router.get("/datasets")
def datasets(request: Request, svc: Datasets, offset: Offset = 0) -> Response:
    return render(request, "datasets.html", page=svc.datasets(offset=offset))


@router.get("/datasets/options")
def dataset_options(request: Request, svc: Datasets) -> Response:
    """The dataset names as <option>s, for the "add to dataset" box (fetched on focus)."""
    every = svc.datasets(max_results=None).items
    return render(request, "dataset_options.html", names=[d.name for d in every])


@router.get("/datasets/{name:path}/diff")
def dataset_diff(
    request: Request,
    name: str,
    svc: Datasets,
    a: int = Query(ge=0),
    b: int = Query(ge=0),
) -> Response:
    return render(
        request, "dataset_diff.html", name=name, a=a, b=b, diff=svc.dataset_diff(name, a, b)
    )


@router.get("/datasets/{name:path}/export.jsonl")
def dataset_export(
    name: str, svc: Datasets, version: int | None = Query(default=None, ge=0)
) -> Response:
    records = svc.dataset(name, version).records

    def lines() -> Any:
        for record in records:
            yield dumps_json(record.to_dict()) + "\n"

    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "dataset"
    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"content-disposition": f'attachment; filename="{filename}.jsonl"'},
    )


@router.get("/datasets/{name:path}")
def dataset(
    request: Request, name: str, svc: Datasets, version: int | None = Query(default=None, ge=0)
) -> Response:
    current = svc.dataset(name)
    shown = svc.dataset(name, version) if version is not None else current
    return render(
        request,
        "dataset.html",
        dataset=shown,
        versions=current.list_versions(),
        latest=current.version,
    )
