"""Who may use the server and how pages defend themselves against the content they show.

- Tokens: on a server with tokens (``EVALTRACE_SERVER_TOKEN``, ``EVALTRACE_SERVER_TOKENS_FILE``:
  tokens.py), every request but ``/health``, ``/login`` and static files needs a known token, as
  ``Authorization: Bearer <token>`` or the cookie the login form sets (401 otherwise), holding a
  scope the request needs (403 naming token and scope otherwise: ``tokens.required_scopes``).
- CSRF: a state-changing request needs the bearer header (browsers never add it on their own),
  or the ``X-CSRF-Token`` header matching the ``evaltrace_csrf`` cookie (the pages' htmx sends
  it), or, for ``/api/``, a JSON body or a DELETE not sent cross-site (browsers preflight
  those, and the server answers no CORS preflight). ``/v1/traces`` (OTLP) needs none: it
  acts on protobuf and JSON bodies only, which no foreign page can send unpreflighted.
- Who: on a token server the user is the name given at login, in a cookie signed with a key
  made from every token's hash (nobody can claim another name without it); on a loopback
  server, a name picked on the review page (everyone there could run the library as anyone).
- Host: a server without a token answers only requests whose ``Host`` names loopback
  (``localhost``, ``127.0.0.1``, ``[::1]``) or one of ``EVALTRACE_SERVER_ALLOWED_HOSTS``;
  others get 421. A web page whose name an attacker rebinds to 127.0.0.1 sends its own name,
  so it can neither read nor write. With a token, the token is the defence.
- Headers: a strict Content-Security-Policy (no inline script, no eval), no framing, no
  sniffing, ``Server-Timing`` (the server's own time); request bodies past ``MAX_BODY_BYTES``
  get 413 before they are read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from evaltrace.server.tokens import TokenHolder, Tokens, required_scopes
from evaltrace.store.http_api import SCOPES

__all__ = [
    "CSRF_COOKIE",
    "MAX_BODY_BYTES",
    "TOKEN_COOKIE",
    "USER_COOKIE",
    "BodyLimit",
    "Guard",
    "allowed_hosts",
    "current_user",
    "safe_next",
    "tokens_equal",
    "user_cookie",
]

OPEN = TokenHolder("open server", frozenset(SCOPES))  # loopback without tokens: one person
_UNKNOWN, _DENIED = "AuthenticationError", "PermissionDeniedError"  # the HTTP store raises these
TOKEN_COOKIE = "evaltrace_token"
CSRF_COOKIE = "evaltrace_csrf"
USER_COOKIE = "evaltrace_user"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 10 * 1024 * 1024
_OPEN_PATHS = ("/health", "/login", "/static/")
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_MACHINE_PATHS = ("/api/", "/v1/")  # the JSON API and OTLP: 401 (not a login page)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def error_body(code: str, message: str) -> dict[str, str]:
    return {"error_code": code, "message": message}


def safe_next(target: str | None) -> str:
    """A local path to go back to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class Guard:
    """ASGI middleware: token, CSRF, security headers (plain ASGI: Starlette's
    BaseHTTPMiddleware costs a task and a stream per request)."""

    def __init__(
        self, app: Any, tokens: Tokens | None, allowed_hosts: frozenset[str] | None = None
    ) -> None:
        """``tokens``: None for an open server; ``allowed_hosts``: the Host names answered
        besides loopback ones (None: any)."""
        self.app = app
        self.tokens = tokens
        self.allowed_hosts = allowed_hosts

    def holder(self, request: Request) -> TokenHolder | None:
        """Who sent the request: the holder of its bearer token, else of its login cookie."""
        if self.tokens is None:
            return OPEN
        return self.tokens.identify(_bearer_token(request)) or self.tokens.identify(
            request.cookies.get(TOKEN_COOKIE)
        )

    def _csrf_ok(self, request: Request) -> bool:
        if self.tokens is not None and self.tokens.identify(_bearer_token(request)) is not None:
            return True
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie and tokens_equal(request.headers.get(CSRF_HEADER), cookie):
            return True
        if request.url.path == "/v1/traces":
            # OTLP acts only on protobuf or JSON bodies (others get 415, nothing written), and
            # a foreign page cannot send those without a preflight the server never answers.
            return True
        if not request.url.path.startswith(_MACHINE_PATHS):
            return False
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return False
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        return request.method == "DELETE" or content_type == "application/json"

    def _refusal(self, request: Request) -> Response | None:
        path = request.url.path
        if self.allowed_hosts is not None:
            host = host_name(request.headers.get("host", ""))
            if not (is_loopback_name(host) or host in self.allowed_hosts):
                message = (
                    f"this server does not answer to the host name {host[:100]!r}; add it to "
                    "EVALTRACE_SERVER_ALLOWED_HOSTS, or use the server's own address"
                )
                return JSONResponse(error_body("MISDIRECTED_REQUEST", message), 421)
        if path.startswith(_OPEN_PATHS):
            holder: TokenHolder | None = OPEN
        else:
            holder = self.holder(request)
            if holder is None:
                if path.startswith(_MACHINE_PATHS):
                    message = (
                        "the bearer token given is not one this server knows"
                        if _bearer_token(request)
                        else "this server needs a bearer token (EVALTRACE_TRACKING_TOKEN)"
                    )
                    body = {**error_body("UNAUTHENTICATED", message), "exception": _UNKNOWN}
                    return JSONResponse(body, 401)
                return RedirectResponse(f"/login?next={path}", 303)
            needed = required_scopes(request.method, path)
            if not holder.scopes & needed:
                message = (
                    f"token {holder.name!r} (scopes: {', '.join(sorted(holder.scopes))}) may "
                    f"not {request.method} {path[:200]}: that needs "
                    f"{' or '.join(sorted(needed))}"
                )
                body = {**error_body("PERMISSION_DENIED", message), "exception": _DENIED}
                return JSONResponse(body, 403)
        request.scope.setdefault("state", {})["token_holder"] = holder
        if request.method not in _SAFE_METHODS and path != "/login" and not self._csrf_ok(request):
            return JSONResponse(
                error_body("CSRF_FAILED", "missing or wrong CSRF token for a state change"), 403
            )
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        started = time.perf_counter()

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers[name] = value
                # The server's own time for the request, as browsers' dev tools show it.
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers["server-timing"] = f"app;dur={elapsed_ms:.2f}"
                if CSRF_COOKIE not in request.cookies:
                    token = new_csrf_token(request)
                    headers.append("set-cookie", f"{CSRF_COOKIE}={token}; Path=/; SameSite=strict")
            await send(message)

        refusal = self._refusal(request)
        if refusal is not None:
            await refusal(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)


def _bearer_token(request: Request) -> str | None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return given.strip() if scheme.lower() == "bearer" and given.strip() else None


def token_holder(request: Request) -> TokenHolder:
    """Who sent the request (on an open server, someone with every scope)."""
    return request.scope.get("state", {}).get("token_holder") or OPEN


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without its port, lower case (``[::1]:5000`` -> ``::1``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def is_loopback_name(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(setting: str | None, closed: bool) -> frozenset[str] | None:
    """The Host names a server answers besides loopback ones: any on a server with tokens
    (``closed``), or with "*"."""
    names = frozenset(n.strip().lower() for n in (setting or "").split(",") if n.strip())
    return None if closed or "*" in names else names


def new_csrf_token(request: Request) -> str:
    """The request's CSRF token: its cookie, or a new one (remembered for the page rendered in
    the same request, which embeds it)."""
    existing = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "csrf_token", None)
    if existing:
        return str(existing)
    token = secrets.token_urlsafe(32)
    request.state.csrf_token = token
    return token


def user_cookie(name: str, tokens: Tokens | None) -> str:
    """The user cookie's value: the name (base64url), signed with the server's key if it has
    tokens."""
    encoded = base64.urlsafe_b64encode(name.encode()).decode()
    return encoded if tokens is None else f"{encoded}.{_signature(encoded, tokens.signing_key)}"


def current_user(request: Request) -> str | None:
    """The user's name from their cookie, or None (no cookie, or a signature that fails)."""
    tokens: Tokens | None = request.app.state.tokens
    token = None if tokens is None else tokens.signing_key
    value = request.cookies.get(USER_COOKIE, "")
    encoded, _, signature = value.partition(".")
    if not encoded or (
        token is not None and not tokens_equal(signature, _signature(encoded, token))
    ):
        return None
    try:
        return base64.urlsafe_b64decode(encoded.encode()).decode() or None
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _signature(encoded: str, token: str) -> str:
    return hmac.new(token.encode(), b"user:" + encoded.encode(), hashlib.sha256).hexdigest()


def tokens_equal(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class BodyLimit:
    """ASGI middleware: 413 for a body longer than the limit, declared or streamed."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(self.limit, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _too_large(self.limit, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(limit: int, send: Any) -> None:
    response = JSONResponse(
        error_body("REQUEST_TOO_LARGE", f"request body is larger than {limit} bytes"), 413
    )
    await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Any:  # pragma: no cover - a response never reads
    return {"type": "http.disconnect"}
