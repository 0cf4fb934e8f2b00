"""The pages of evaluation runs: the list, one run, two compared (each has its JSON twin in
``api.py`` beside it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from evaltrace.server.dependencies import Runs
from evaltrace.server.pages import error_page, render

__all__ = ["router"]

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/runs")
def runs(request: Request, svc: Runs, model_id: str = "") -> Response:
    found = svc.runs(model_id)
    return render(
        request,
        "runs.html",
        runs=found,
        model_id=model_id,
        series=svc.metric_series(model_id) if model_id else {},
    )


@router.get("/runs/compare")
def compare(request: Request, svc: Runs, run_a: str = "", run_b: str = "") -> Response:
    if not run_a or not run_b:
        return error_page(request, 400, "Pick two runs to compare: tick two runs in the list.")
    rows, deltas = svc.compare(run_a, run_b)
    return render(
        request,
        "compare.html",
        run_a=svc.run(run_a),
        run_b=svc.run(run_b),
        rows=rows,
        deltas=deltas,
    )


@router.get("/runs/{run_id}")
def run(request: Request, run_id: str, svc: Runs) -> Response:
    found = svc.run(run_id)
    others = [r for r in svc.runs(found.model_id) if r.run_id != run_id] if found.model_id else []
    return render(request, "run.html", run=found, others=others)
