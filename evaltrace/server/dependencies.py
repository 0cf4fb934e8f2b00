"""The services a route asks for (FastAPI dependencies), one place for every router: one
service per domain, made with the app (app.state.services)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request

from evaltrace.server.service import (
    DatasetsService,
    LabelingService,
    MonitorsService,
    RunsService,
    SessionsService,
    TracesService,
)

__all__ = [
    "Datasets",
    "EpochMs",
    "Labeling",
    "Monitors",
    "Offset",
    "Runs",
    "Sessions",
    "Traces",
    "TurnNumber",
]

# Integers a query may give, bounded where the stores' 64-bit columns and SQLite's OFFSET are
# (past them SQLite raised OverflowError: a 500 the API fuzzer found).
EpochMs = Annotated[int, Query(ge=0, lt=2**63, description="epoch milliseconds")]
Offset = Annotated[int, Query(ge=0, lt=2**62, description="how many to skip")]
TurnNumber = Annotated[int, Query(ge=1, lt=2**62, description="the number of the first turn")]


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
