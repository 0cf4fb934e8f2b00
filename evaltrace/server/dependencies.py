"""The services a route asks for (FastAPI dependencies), one place for every router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from evaltrace.server.service import LabelingService, TraceService

__all__ = ["Labeling", "Service"]


def _service(request: Request) -> TraceService:
    return request.app.state.service  # type: ignore[no-any-return]


def _labeling(request: Request) -> LabelingService:
    return request.app.state.labeling  # type: ignore[no-any-return]


Service = Annotated[TraceService, Depends(_service)]
Labeling = Annotated[LabelingService, Depends(_labeling)]
