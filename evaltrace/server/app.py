"""The server: one FastAPI app with the pages, the JSON API, the OTLP endpoint and ``/health``
over one Session."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from evaltrace._session import Session, install_session
from evaltrace._uris import without_password
from evaltrace.exceptions import (
    EvaltraceError,
    InvalidArgumentError,
    InvalidFilterError,
    MonitorBusyError,
    NotFoundError,
    StoreError,
    StoreUnavailableError,
)
from evaltrace.otlp.ingest import Ingest
from evaltrace.server import (
    datasets,
    labeling,
    monitors,
    otlp_routes,
    pages,
    runs,
    sessions,
    store_api,
    traces,
)
from evaltrace.server.encoding import JsonResponse
from evaltrace.server.security import BodyLimit, Guard, allowed_hosts, error_body
from evaltrace.server.service import (
    DatasetsService,
    LabelingService,
    MonitorsService,
    RunsService,
    SessionsService,
    TracesService,
)
from evaltrace.server.tokens import Tokens

__all__ = ["create_app"]

_log = logging.getLogger("evaltrace.server")
_STATIC = Path(__file__).parent / "static"


def create_app(
    session: Session | None = None, *, token: str | None = None, monitor: bool = False
) -> FastAPI:
    """The app over ``session``: every request is served with it in use (``Session.use()``),
    so two apps over two stores answer each from its own. Without one, the app makes a session
    from the ``EVALTRACE_*`` settings and installs it as the process's (``evaltrace server``:
    the process's one user of the library). ``monitor``: also run the monitor worker
    (registered scorers) while the app runs."""
    owned = session is None
    if session is None:
        session = Session()
        install_session(session)
    settings = session.settings
    tokens = Tokens.configured(
        token if token is not None else settings.server_token, settings.server_tokens_file
    )
    app = FastAPI(
        title="evaltrace",
        summary="Traces, assessments, datasets and evaluation runs of an evaltrace store.",
        version=_version(),
        default_response_class=JsonResponse,
        # The spec is at /openapi.json. FastAPI's /docs pages load Swagger UI from a CDN with
        # inline script, which the Content-Security-Policy (rightly) refuses.
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan(session, monitor, close_session=owned),
    )
    app.state.services = {
        kind: kind(session)
        for kind in (TracesService, SessionsService, DatasetsService, RunsService, MonitorsService)
    }
    app.state.services[LabelingService] = LabelingService()
    app.state.otlp = Ingest(session)
    app.state.tokens = tokens
    app.state.session = session
    hosts = allowed_hosts(settings.server_allowed_hosts, closed=tokens is not None)
    app.add_middleware(Guard, tokens=tokens, allowed_hosts=hosts)
    app.add_middleware(SessionInUse, session=session)
    app.add_middleware(BodyLimit)  # outermost: a too-large body is refused before anything
    app.mount("/static", StaticFiles(directory=_STATIC), name="static")
    # One router per domain for its pages and one for their JSON twins (under /api/).
    domains = (traces, sessions, datasets, runs, monitors, labeling)
    for domain in domains:
        app.include_router(domain.api.router)
    app.include_router(otlp_routes.router)
    app.include_router(store_api.router)  # the HTTP store's (http:// tracking URIs)
    app.include_router(pages.router)  # the home page and the login form
    for domain in domains:
        app.include_router(domain.pages.router)
    app.add_api_route("/health", _health, methods=["GET"], summary="Is the store reachable")
    app.add_exception_handler(EvaltraceError, _evaltrace_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
    return app


class SessionInUse:
    """ASGI middleware: the request is served with the app's session in use (the verbs the
    services call resolve to it, in the event loop and in the threads sync endpoints run in,
    which get a copy of the request's context)."""

    def __init__(self, app: Any, session: Session) -> None:
        self.app = app
        self.session = session

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        with self.session.use():
            await self.app(scope, receive, send)


def _lifespan(session: Session, monitor: bool, *, close_session: bool) -> Any:
    """While the app serves: the monitor worker if asked; at the end (SIGTERM too), the OTLP
    conversion workers (started by the first OTLP request) are stopped and the app's own
    session is closed: its stores' connections too, so SQLite checkpoints its WAL into the
    database and removes the ``-wal`` file. A session given to the app is its caller's."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ingest: Ingest = app.state.otlp
        try:
            if monitor:
                async with _monitoring(session)(app):
                    yield
            else:
                yield
        finally:
            ingest.close()
            if close_session:
                session.close()

    return lifespan


def _monitoring(session: Session) -> Any:
    """A lifespan running the monitor worker on a thread of the server process."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        from evaltrace.monitoring import MonitorWorker

        stop = threading.Event()

        def work() -> None:
            try:
                worker = MonitorWorker(
                    session.store(), scorer_timeout=session.settings.scorer_timeout
                )
                worker.run(stop)
            except MonitorBusyError as busy:  # SQLite, several server processes: one monitors
                _log.warning("evaltrace server: not monitoring in this process: %s", busy)
            except Exception:  # the server keeps serving; the monitor says why it stopped
                _log.exception("evaltrace server: the monitor worker stopped")

        thread = threading.Thread(target=work, name="evaltrace-monitor", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=30)

    return lifespan


def _version() -> str:
    from evaltrace._version import __version__

    return __version__


def _health(request: Request) -> Any:
    service: TracesService = request.app.state.services[TracesService]
    uri = without_password(service.session.tracking_uri)
    try:
        service.experiments()
        store = "ok"
    except StoreError as exc:
        store = f"unavailable: {type(exc).__name__}"
    return {"status": "ok", "store": store, "tracking_uri": uri}


def _status_and_code(exc: EvaltraceError) -> tuple[int, str, str]:
    if isinstance(exc, InvalidFilterError):
        return 400, "INVALID_FILTER", str(exc)
    if isinstance(exc, InvalidArgumentError):
        return 400, "INVALID_ARGUMENT", str(exc)
    if isinstance(exc, NotFoundError):
        return 404, "NOT_FOUND", str(exc)
    if isinstance(exc, StoreUnavailableError):
        return 503, "STORE_UNAVAILABLE", "the store cannot be reached right now; try again"
    if isinstance(exc, StoreError):
        # The driver's message can hold SQL text: it goes to the server log, not the client.
        return 500, "STORE_ERROR", "the store failed; the server log has the details"
    return 400, "BAD_REQUEST", str(exc)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _respond(request: Request, status: int, code: str, message: str, **extra: Any) -> Response:
    if _wants_html(request):
        return pages.error_page(request, status, message)
    return JsonResponse({**error_body(code, message), **extra}, status_code=status)


async def _evaltrace_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, EvaltraceError)
    status, code, message = _status_and_code(exc)
    if status >= 500:
        _log.error("%s %s failed: %s", request.method, request.url.path, exc)
    extra: dict[str, Any] = {"exception": type(exc).__name__}  # the HTTP store raises it again
    if isinstance(exc, InvalidFilterError):
        extra["position"] = exc.position
    return _respond(request, status, code, message, **extra)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = [
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg')}"
        for error in exc.errors()
    ]
    return _respond(request, 422, "INVALID_ARGUMENT", "; ".join(problems) or "invalid request")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = "NOT_FOUND" if exc.status_code == 404 else "HTTP_ERROR"
    response = _respond(request, exc.status_code, code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    _log.exception("%s %s failed", request.method, request.url.path)
    return _respond(request, 500, "INTERNAL_ERROR", "internal server error")
