"""The review app: labeling sessions, a reviewer's queue (one item at a time, keyboard
shortcuts in static/app.js), and the session owner's page with progress and sync."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from evaltrace._validation import require_text
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.server.dependencies import Labeling
from evaltrace.server.pages import htmx_redirect, render
from evaltrace.server.security import USER_COOKIE, current_user, user_cookie
from evaltrace.server.service import form_answers

__all__ = ["router"]

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


@router.get("/labeling")
def sessions(request: Request, svc: Labeling) -> Response:
    return render(request, "labeling_sessions.html", sessions=svc.sessions())


@router.get("/labeling/options")
def session_options(request: Request, svc: Labeling) -> Response:
    """The sessions as <option>s, for the trace list's "add to labeling session" box."""
    return render(request, "labeling_options.html", sessions=svc.sessions())


@router.post("/experiments/{experiment_id}/add-to-labeling")
def add_to_labeling(
    request: Request,
    experiment_id: str,
    svc: Labeling,
    labeling_session_id: Annotated[str, Form()] = "",
    trace_id: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI's form default
) -> Response:
    if not labeling_session_id:
        raise InvalidArgumentError("choose a labeling session")
    if not trace_id:
        raise InvalidArgumentError("select at least one trace")
    session = svc.session(labeling_session_id).add_traces(trace_id)
    return render(
        request,
        "notice.html",
        message=f"Added {len(trace_id)} trace(s) to {session.name}.",
        link=f"/labeling/{quote(session.labeling_session_id, safe='')}",
    )


@router.get("/labeling/{session_id}")
def owner_page(request: Request, session_id: str, svc: Labeling) -> Response:
    session = svc.session(session_id)
    items = session.items()
    return render(
        request,
        "labeling_session.html",
        session=session,
        progress=svc.progress(session, None),
        items=items,
        agreement=session.agreement(items),
    )


@router.post("/labeling/{session_id}/sync")
def sync(
    request: Request, session_id: str, svc: Labeling, dataset_name: Annotated[str, Form()]
) -> Response:
    dataset = svc.session(session_id).sync(dataset_name.strip())
    return render(
        request,
        "notice.html",
        message=f"{dataset.name} is at version {dataset.version} with {len(dataset)} record(s).",
        link="/datasets/" + quote(dataset.name, safe=""),
    )


@router.get("/review/{session_id}")
def review(request: Request, session_id: str, svc: Labeling) -> Response:
    session = svc.session(session_id)
    reviewer = current_user(request)
    if not reviewer or (session.assigned_users and reviewer not in session.assigned_users):
        return render(request, "review_name.html", session=session, reviewer=reviewer)
    trace = svc.next_item(session, reviewer)
    root = trace.data.root_span if trace is not None else None
    return render(
        request,
        "review.html",
        session=session,
        reviewer=reviewer,
        trace=trace,
        root=root,
        schemas=svc.schemas(session),
        progress=svc.progress(session, reviewer),
    )


@router.post("/review/{session_id}/reviewer")
def choose_reviewer(
    request: Request, session_id: str, svc: Labeling, reviewer: Annotated[str, Form()]
) -> Response:
    """On a loopback server, the reviewer picks their name; on a token server it is the name
    given at login (picking one here would let anyone with the page label as anyone)."""
    if request.app.state.tokens is not None:
        raise InvalidArgumentError("this server records labels under the name you sign in with")
    session = svc.session(session_id)
    name = require_text(reviewer.strip(), "reviewer")
    if session.assigned_users and name not in session.assigned_users:
        raise InvalidArgumentError(f"{name!r} is not assigned to this session")
    response = htmx_redirect(f"/review/{quote(session_id, safe='')}")
    response.set_cookie(USER_COOKIE, user_cookie(name, None), httponly=True, samesite="strict")
    return response


@router.post("/review/{session_id}/submit")
async def submit(request: Request, session_id: str, svc: Labeling) -> Response:
    form = await request.form()
    reviewer = current_user(request) or ""
    session = svc.session(session_id)
    trace_id = str(form.get("trace_id") or "")
    try:
        if form.get("action") == "skip":
            session.skip(trace_id, reviewer=reviewer)
        else:
            answers = form_answers(svc.schemas(session), form)
            svc.submit(session, trace_id, reviewer, answers, _text(form.get("comment")))
    except InvalidArgumentError as exc:
        return render(request, "notice.html", message=str(exc), error=True)
    return htmx_redirect(f"/review/{quote(session_id, safe='')}")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
