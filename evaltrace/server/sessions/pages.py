"""The pages of conversations: the sessions of an experiment and the turns of one (each has its
JSON twin in ``api.py`` beside it)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from evaltrace.server.dependencies import Offset, Sessions, TurnNumber
from evaltrace.server.pages import render

__all__ = ["router"]

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/experiments/{experiment_id}/sessions")
def sessions(
    request: Request,
    experiment_id: str,
    svc: Sessions,
    offset: Offset = 0,
) -> Response:
    return render(
        request,
        "sessions.html",
        experiment=svc.experiment(experiment_id),
        page=svc.sessions(experiment_id, offset=offset),
    )


@router.get("/experiments/{experiment_id}/sessions/{session_id:path}")
def session(
    request: Request,
    experiment_id: str,
    session_id: str,
    svc: Sessions,
    page_token: str = Query(default="", max_length=10_000),
    first: TurnNumber = 1,
) -> Response:
    """A page of the session's turns; ``first``: the number of its first turn (for the
    "turns 501-1000" line the next-page link carries on)."""
    traces, next_token = svc.session_traces(experiment_id, session_id, page_token or None)
    return render(
        request,
        "session.html",
        experiment=svc.experiment(experiment_id),
        session_id=session_id,
        traces=traces,
        first=first,
        next_token=next_token,
    )
