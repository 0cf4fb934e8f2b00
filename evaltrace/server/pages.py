"""The HTML pages (Jinja2, rendered on the server, escaped by default) and their htmx
fragments. Each handler calls the service and renders; no logic of its own beyond that."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from evaltrace._validation import require_text
from evaltrace.server import views
from evaltrace.server.security import (
    TOKEN_COOKIE,
    USER_COOKIE,
    current_user,
    new_csrf_token,
    safe_next,
    token_holder,
    user_cookie,
)
from evaltrace.server.tokens import Tokens
from evaltrace.store.http_api import ADMIN, ANNOTATE

__all__ = ["error_page", "htmx_redirect", "render", "router"]

router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.filters.update(
    ms_time=views.ms_time,
    duration=views.duration,
    usd=views.usd,
    short=views.short,
    pretty_json=views.pretty_json,
    path_part=lambda value: quote(str(value), safe=""),  # one URL path segment, "/" included
)
templates.env.globals.update(
    chart_points=views.chart_points,
    chat_messages=views.chat_messages,
    score_bars=views.score_bars,
)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    context.setdefault("csrf_token", new_csrf_token(request))
    context.setdefault("auth_required", request.app.state.tokens is not None)
    context.setdefault("user", current_user(request))
    # What the token may do: pages hide the forms it could not submit.
    context.setdefault("may_annotate", bool(token_holder(request).scopes & ANNOTATE))
    context.setdefault("may_admin", bool(token_holder(request).scopes & ADMIN))
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def htmx_redirect(url: str) -> Response:
    """htmx follows HX-Redirect with a full page load."""
    return Response(status_code=204, headers={"HX-Redirect": url})


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
    tokens: Tokens | None = request.app.state.tokens
    if tokens is None:
        return RedirectResponse(safe_next(next), 303)
    if tokens.identify(token) is None:
        return render(request, "login.html", status_code=401, next=safe_next(next), failed=True)
    response = RedirectResponse(safe_next(next), 303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
    if user.strip():
        name = require_text(user.strip(), "user")
        response.set_cookie(
            USER_COOKIE, user_cookie(name, tokens), httponly=True, samesite="strict"
        )
    return response
