"""The JSON API of conversations: the sessions of an experiment and the turns of one: the twin of
its pages (``/api/...``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from evaltrace.server.dependencies import Offset, Sessions
from evaltrace.server.encoding import JsonResponse

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)


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


@router.get("/experiments/{experiment_id}/sessions", summary="Conversations of an experiment")
def list_sessions(experiment_id: str, svc: Sessions, offset: Offset = 0) -> Any:
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
