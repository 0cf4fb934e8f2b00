"""The HTML pages (Jinja2, rendered on the server, escaped by default) and their htmx
fragments. Each handler calls the service and renders; no logic of its own beyond that."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from evaltrace._json import dumps_json
from evaltrace._validation import require_text
from evaltrace.entities import AssessmentSource, AssessmentSourceType, Expectation
from evaltrace.exceptions import InvalidArgumentError, InvalidFilterError
from evaltrace.server import views
from evaltrace.server.dependencies import Datasets, Monitors, Runs, Sessions, Traces
from evaltrace.server.encoding import assessment_summary
from evaltrace.server.security import (
    TOKEN_COOKIE,
    USER_COOKIE,
    current_user,
    new_csrf_token,
    safe_next,
    tokens_equal,
    user_cookie,
)
from evaltrace.server.service import MONITOR_BUCKETS, TracesService, parse_value

__all__ = ["error_page", "router"]

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters.update(
    ms_time=views.ms_time,
    duration=views.duration,
    short=views.short,
    pretty_json=views.pretty_json,
    path_part=lambda value: quote(str(value), safe=""),  # one URL path segment, "/" included
)
templates.env.globals.update(
    chart_points=views.chart_points,
    chat_messages=views.chat_messages,
    score_bars=views.score_bars,
)

_ORDERINGS = {
    "": "newest first",
    "timestamp_ms ASC": "oldest first",
    "execution_time_ms DESC": "slowest first",
    "total_tokens DESC": "most tokens first",
}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("csrf_token", new_csrf_token(request))
    context.setdefault("auth_required", request.app.state.token is not None)
    context.setdefault("user", current_user(request))
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status_code=status, status=status, message=message)


@router.get("/")
def home() -> Response:
    return RedirectResponse("/experiments", 303)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=safe_next(next), failed=False)


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
    user: Annotated[str, Form()] = "",
) -> Response:
    """The token, and the name the user's labels and assessments are recorded under."""
    expected = request.app.state.token
    if expected is None:
        return RedirectResponse(safe_next(next), 303)
    if not tokens_equal(token, expected):
        return render(request, "login.html", status_code=401, next=safe_next(next), failed=True)
    response = RedirectResponse(safe_next(next), 303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
    if user.strip():
        name = require_text(user.strip(), "user")
        response.set_cookie(
            USER_COOKIE, user_cookie(name, expected), httponly=True, samesite="strict"
        )
    return response


@router.get("/experiments")
def experiments(request: Request, svc: Traces) -> Response:
    return render(request, "experiments.html", experiments=svc.experiments())


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


@router.post("/experiments/{experiment_id}/add-to-dataset")
def add_to_dataset(
    request: Request,
    experiment_id: str,
    svc: Datasets,
    dataset_name: Annotated[str, Form(max_length=500)],
    trace_id: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI's form default
) -> Response:
    version = svc.add_to_dataset(trace_id, dataset_name.strip())
    return render(
        request,
        "notice.html",
        message=f"Added {len(trace_id)} trace(s) to {dataset_name} (now version {version}).",
        link="/datasets/" + quote(dataset_name.strip(), safe=""),
    )


@router.get("/experiments/{experiment_id}/sessions")
def sessions(
    request: Request,
    experiment_id: str,
    svc: Sessions,
    offset: int = Query(default=0, ge=0, lt=2**62),
) -> Response:
    return render(
        request,
        "sessions.html",
        experiment=svc.experiment(experiment_id),
        page=svc.sessions(experiment_id, offset=offset),
    )


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
    start: int = Query(ge=0, lt=2**63),
    end: int = Query(ge=0, lt=2**63),
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


@router.get("/experiments/{experiment_id}/sessions/{session_id:path}")
def session(
    request: Request,
    experiment_id: str,
    session_id: str,
    svc: Sessions,
    page_token: str = Query(default="", max_length=10_000),
    first: int = Query(default=1, ge=1, lt=2**62),
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
    if request.app.state.token is not None and user:
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


@router.get("/datasets")
def datasets(
    request: Request, svc: Datasets, offset: int = Query(default=0, ge=0, lt=2**62)
) -> Response:
    return render(request, "datasets.html", page=svc.datasets(offset=offset))


@router.get("/datasets/options")
def dataset_options(request: Request, svc: Datasets) -> Response:
    """The dataset names as <option>s, for the "add to dataset" box (fetched on focus)."""
    every = svc.datasets(max_results=None).items
    return render(request, "dataset_options.html", names=[d.name for d in every])


@router.get("/datasets/{name:path}/diff")
def dataset_diff(
    request: Request,
    name: str,
    svc: Datasets,
    a: int = Query(ge=0),
    b: int = Query(ge=0),
) -> Response:
    return render(
        request, "dataset_diff.html", name=name, a=a, b=b, diff=svc.dataset_diff(name, a, b)
    )


@router.get("/datasets/{name:path}/export.jsonl")
def dataset_export(
    name: str, svc: Datasets, version: int | None = Query(default=None, ge=0)
) -> Response:
    records = svc.dataset(name, version).records

    def lines() -> Any:
        for record in records:
            yield dumps_json(record.to_dict()) + "\n"

    filename = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "dataset"
    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"content-disposition": f'attachment; filename="{filename}.jsonl"'},
    )


@router.get("/datasets/{name:path}")
def dataset(
    request: Request, name: str, svc: Datasets, version: int | None = Query(default=None, ge=0)
) -> Response:
    current = svc.dataset(name)
    shown = svc.dataset(name, version) if version is not None else current
    return render(
        request,
        "dataset.html",
        dataset=shown,
        versions=current.list_versions(),
        latest=current.version,
    )


@router.get("/runs")
def runs(request: Request, svc: Runs, model_id: str = "") -> Response:
    found = svc.runs(model_id)
    return render(
        request,
        "runs.html",
        runs=found,
        model_id=model_id,
        series=svc.metric_series(model_id) if model_id else {},
    )


@router.get("/runs/compare")
def compare(request: Request, svc: Runs, run_a: str, run_b: str) -> Response:
    rows, deltas = svc.compare(run_a, run_b)
    return render(
        request,
        "compare.html",
        run_a=svc.run(run_a),
        run_b=svc.run(run_b),
        rows=rows,
        deltas=deltas,
    )


@router.get("/runs/{run_id}")
def run(request: Request, run_id: str, svc: Runs) -> Response:
    found = svc.run(run_id)
    others = [r for r in svc.runs(found.model_id) if r.run_id != run_id] if found.model_id else []
    return render(request, "run.html", run=found, others=others)
