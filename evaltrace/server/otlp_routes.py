"""``POST /v1/traces``: the OTLP/HTTP trace endpoint (evaltrace/otlp/ingest.py does the work,
in a worker thread: decoding and the store write block)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from evaltrace.otlp.ingest import EXPERIMENT_HEADER, Ingest

__all__ = ["router"]

router = APIRouter()


@router.post(
    "/v1/traces",
    summary="OTLP/HTTP trace export (protobuf or JSON, gzip allowed)",
    response_class=Response,
)
async def export_traces(request: Request) -> Response:
    ingest: Ingest = request.app.state.otlp
    body = await request.body()
    headers = request.headers
    answer = await run_in_threadpool(
        ingest.handle,
        body,
        headers.get("content-type"),
        headers.get("content-encoding"),
        headers.get(EXPERIMENT_HEADER),
    )
    return Response(
        answer.body, status_code=answer.status, media_type=answer.media_type, headers=answer.headers
    )
