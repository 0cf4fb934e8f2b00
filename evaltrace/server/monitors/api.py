"""The JSON API of registered scorers' status, charts and the traces they judged: the twin of its
pages (``/api/...``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from evaltrace.server.dependencies import EpochMs, Monitors
from evaltrace.server.encoding import JsonResponse

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)


@router.get("/experiments/{experiment_id}/monitors", summary="Registered scorers' status")
def monitor_status(experiment_id: str, svc: Monitors) -> Any:
    """Per registered scorer: state, sampling, outcome counts, lag, budget."""
    svc.experiment(experiment_id)  # 404 for an unknown experiment
    return [status.to_dict() for status in svc.monitor_status(experiment_id)]


@router.get(
    "/experiments/{experiment_id}/monitors/{name}/traces",
    summary="The traces a registered scorer judged in a time range",
)
def monitor_traces(
    experiment_id: str,
    name: str,
    svc: Monitors,
    start: EpochMs,
    end: EpochMs,
) -> Any:
    svc.experiment(experiment_id)
    return {"traces": svc.monitor_traces(experiment_id, name, start, end)}
