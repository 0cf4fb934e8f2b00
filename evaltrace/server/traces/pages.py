"""The pages of experiments, the trace list, a trace, its spans and assessments (each has its JSON
twin in ``api.py`` beside it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from evaltrace.entities import AssessmentSource, AssessmentSourceType, Expectation
from evaltrace.entities.limits import MAX_NAME_CHARS
from evaltrace.exceptions import InvalidArgumentError, InvalidFilterError
from evaltrace.server.dependencies import Traces
from evaltrace.server.encoding import assessment_summary
from evaltrace.server.pages import htmx_redirect, render
from evaltrace.server.security import (
    current_user,
)
from evaltrace.server.service import TracesService, parse_value

__all__ = ["router"]

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


_ORDERINGS = {
    "": "newest first",
    "timestamp_ms ASC": "oldest first",
    "execution_time_ms DESC": "slowest first",
    "total_tokens DESC": "most tokens first",
}


@router.get("/experiments")
def experiments(request: Request, svc: Traces) -> Response:
    return render(request, "experiments.html", experiments=svc.experiments())


@router.post("/experiments")
def create_experiment(
    svc: Traces, name: Annotated[str, Form(max_length=MAX_NAME_CHARS)]
) -> Response:
    experiment_id = svc.create_experiment(name.strip())
    return htmx_redirect(f"/experiments/{experiment_id}/traces")


@router.post("/experiments/{experiment_id}/rename")
def rename_experiment(
    experiment_id: str, svc: Traces, new_name: Annotated[str, Form(max_length=MAX_NAME_CHARS)]
) -> Response:
    svc.rename_experiment(experiment_id, new_name.strip())
    return htmx_redirect("/experiments")


@router.post("/experiments/{experiment_id}/delete")
def delete_experiment(experiment_id: str, svc: Traces) -> Response:
    svc.delete_experiment(experiment_id)
    return htmx_redirect("/experiments")


@router.post("/traces/{trace_id}/delete")
def delete_trace(trace_id: str, svc: Traces) -> Response:
    experiment_id = svc.trace_info(trace_id).experiment_id
    svc.delete_trace(trace_id)
    return htmx_redirect(f"/experiments/{experiment_id}/traces")


def _trace_query(filter: str, order_by: str) -> dict[str, Any]:
    return {"filter_string": filter or None, "order_by": [order_by] if order_by else []}


@router.get("/experiments/{experiment_id}/traces")
def traces(
    request: Request,
    experiment_id: str,
    svc: Traces,
    filter: str = Query(default="", max_length=10_000),
    order_by: str = "",
) -> Response:
    experiment = svc.experiment(experiment_id)
    error: InvalidFilterError | None = None
    page = None
    try:
        page = svc.search(experiment_id, **_trace_query(filter, order_by))
    except InvalidFilterError as exc:
        error = exc
    return render(
        request,
        "traces.html",
        status_code=400 if error else 200,
        experiment=experiment,
        page=page,
        filter=filter,
        order_by=order_by,
        orderings=_ORDERINGS,
        error=error,
    )


@router.get("/experiments/{experiment_id}/traces/rows")
def trace_rows(
    request: Request,
    experiment_id: str,
    svc: Traces,
    filter: str = Query(default="", max_length=10_000),
    order_by: str = "",
    page_token: str = Query(default="", max_length=10_000),
    newer_than_ms: int | None = None,
) -> Response:
    """Rows only: the next page (``page_token``) or the traces newer than the newest shown."""
    query = _trace_query(filter, order_by)
    if newer_than_ms is not None:
        since = f"attributes.timestamp_ms >= {int(newer_than_ms)}"
        query = {"filter_string": f"({filter}) AND {since}" if filter else since, "order_by": []}
    page = svc.search(experiment_id, page_token=page_token or None, **query)
    return render(
        request,
        "trace_rows.html",
        experiment_id=experiment_id,
        page=page,
        filter=filter,
        order_by=order_by,
        more=newer_than_ms is None,
    )


@router.get("/traces/{trace_id}")
def trace(request: Request, trace_id: str, svc: Traces) -> Response:
    info = svc.trace_info(trace_id)
    return render(
        request,
        "trace.html",
        experiment=svc.experiment(info.experiment_id),
        name=svc.trace_name(trace_id) or trace_id,
        **_assessment_context(info),
    )


def _assessment_context(info: Any) -> dict[str, Any]:
    return {
        "info": info,
        "assessments": [
            (a, "expectation" if isinstance(a, Expectation) else "feedback")
            for a in info.assessments
        ],
        "summary": assessment_summary(info),
    }


@router.get("/traces/{trace_id}/spans/{span_id}")
def span_panel(request: Request, trace_id: str, span_id: str, svc: Traces) -> Response:
    return render(request, "span.html", span=svc.span(trace_id, span_id))


@router.get("/traces/{trace_id}/assessments")
def assessments(request: Request, trace_id: str, svc: Traces) -> Response:
    return render(request, "assessments.html", **_assessment_context(svc.trace_info(trace_id)))


@router.post("/traces/{trace_id}/assessments")
def add_assessment(
    request: Request,
    trace_id: str,
    svc: Traces,
    kind: Annotated[str, Form()],
    name: Annotated[str, Form()],
    value: Annotated[str, Form()],
    rationale: Annotated[str, Form()] = "",
    source_id: Annotated[str, Form()] = "",
) -> Response:
    """Checked by the library, as ``log_expectation`` checks: the form shows its message."""
    return _assessment_change(
        request,
        svc,
        trace_id,
        lambda: svc.add_assessment(
            trace_id,
            kind=kind,
            name=name.strip(),
            value=parse_value(value),
            rationale=rationale,
            source=_human(request, source_id),
        ),
    )


def _human(request: Request, source_id: str) -> AssessmentSource:
    """The person who filled in a form: the signed-in user on a token server, else the name
    they gave (or picked for reviewing), else "ui"."""
    user = current_user(request)
    if request.app.state.tokens is not None and user:
        name = user
    else:
        name = source_id.strip() or user or "ui"
    return AssessmentSource(source_type=AssessmentSourceType.HUMAN, source_id=name)


def _assessment_change(
    request: Request, svc: TracesService, trace_id: str, change: Callable[[], object]
) -> Response:
    """Make the change and show the assessments again, with the library's message if it
    refused (200: htmx swaps 2xx only, so the form shows its own error)."""
    error = None
    try:
        change()
    except InvalidArgumentError as exc:
        error = str(exc)
    return render(
        request, "assessments.html", error=error, **_assessment_context(svc.trace_info(trace_id))
    )


@router.post("/traces/{trace_id}/assessments/{assessment_id}/edit")
def edit_assessment(
    request: Request,
    trace_id: str,
    assessment_id: str,
    svc: Traces,
    value: Annotated[str, Form()],
    rationale: Annotated[str, Form()] = "",
    source_id: Annotated[str, Form()] = "",
) -> Response:
    return _assessment_change(
        request,
        svc,
        trace_id,
        lambda: svc.edit_assessment(
            trace_id,
            assessment_id,
            value=parse_value(value),
            rationale=rationale,
            source=_human(request, source_id),
        ),
    )


@router.post("/traces/{trace_id}/assessments/{assessment_id}/delete")
def delete_assessment(request: Request, trace_id: str, assessment_id: str, svc: Traces) -> Response:
    svc.delete_assessment(trace_id, assessment_id)
    return render(request, "assessments.html", **_assessment_context(svc.trace_info(trace_id)))


@router.get("/traces/{trace_id}/assessments/history/{name:path}")
def assessment_history(request: Request, trace_id: str, name: str, svc: Traces) -> Response:
    return render(request, "history.html", history=svc.assessment_history(trace_id, name))
