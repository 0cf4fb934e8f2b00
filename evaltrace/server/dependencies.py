"""The services a route asks for (FastAPI dependencies), one place for every router: one
service per domain, made with the app (app.state.services)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from evaltrace.server.service import (
    DatasetsService,
    LabelingService,
    MonitorsService,
    RunsService,
    SessionsService,
    TracesService,
)

__all__ = ["Datasets", "Labeling", "Monitors", "Runs", "Sessions", "Traces"]


def _of(kind: type[Any]) -> Any:
    def service(request: Request) -> Any:
        return request.app.state.services[kind]

    return Depends(service)


Traces = Annotated[TracesService, _of(TracesService)]
Sessions = Annotated[SessionsService, _of(SessionsService)]
Datasets = Annotated[DatasetsService, _of(DatasetsService)]
Runs = Annotated[RunsService, _of(RunsService)]
Monitors = Annotated[MonitorsService, _of(MonitorsService)]
Labeling = Annotated[LabelingService, _of(LabelingService)]
