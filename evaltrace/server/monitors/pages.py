"""The pages of registered scorers' status, charts and the traces they judged (each has its JSON
twin in ``api.py`` beside it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from evaltrace.exceptions import InvalidArgumentError
from evaltrace.server.dependencies import EpochMs, Monitors
from evaltrace.server.pages import render
from evaltrace.server.service import MONITOR_BUCKETS

__all__ = ["router"]

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/experiments/{experiment_id}/monitors")
def monitors(request: Request, experiment_id: str, svc: Monitors, bucket: str = "hour") -> Response:
    if bucket not in MONITOR_BUCKETS:
        raise InvalidArgumentError(f"bucket must be one of {', '.join(MONITOR_BUCKETS)}")
    return render(
        request,
        "monitors.html",
        experiment=svc.experiment(experiment_id),
        monitors=svc.monitors(experiment_id, bucket),
        bucket=bucket,
        buckets=MONITOR_BUCKETS,
    )


@router.get("/experiments/{experiment_id}/monitors/{name}/traces")
def monitor_traces(
    request: Request,
    experiment_id: str,
    name: str,
    svc: Monitors,
    start: EpochMs,
    end: EpochMs,
) -> Response:
    return render(
        request,
        "monitor_traces.html",
        experiment=svc.experiment(experiment_id),
        name=name,
        start=start,
        end=end,
        rows=svc.monitor_traces(experiment_id, name, start, end),
    )
