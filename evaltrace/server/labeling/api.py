"""The JSON API of labeling sessions: the twin of its pages (``/api/...``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import APIRouter

from evaltrace.server.dependencies import Labeling
from evaltrace.server.encoding import JsonResponse

__all__ = ["router"]

router = APIRouter(prefix="/api", default_response_class=JsonResponse)


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
