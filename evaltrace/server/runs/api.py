"""The JSON API of evaluation runs: the list, one run, two compared: the twin of its pages
(``/api/...``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from evaltrace.server.dependencies import Runs
from evaltrace.server.encoding import JsonResponse, run_json

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)


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
