"""``evaltrace server`` (and its alias ``evaltrace ui``): the web UI and JSON API."""

from __future__ import annotations

import os

import click

from evaltrace._config import resolve_settings
from evaltrace._uris import without_password
from evaltrace.exceptions import InvalidArgumentError, MissingDependencyError
from evaltrace.server import MONITOR_ENV

__all__ = ["server_command"]

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_WILDCARD = {"0.0.0.0", "::", ""}


@click.command("server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--tracking-uri", metavar="URI", help="Store URL (default: $EVALTRACE_TRACKING_URI).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--insecure",
    is_flag=True,
    help="Listen beyond loopback without EVALTRACE_SERVER_TOKEN (anyone who can reach it can "
    "read and delete traces).",
)
@click.option(
    "--monitor",
    is_flag=True,
    help="Also run the monitor worker (registered scorers on live traces) in the server.",
)
def server_command(
    host: str, port: int, tracking_uri: str | None, workers: int, insecure: bool, monitor: bool
) -> None:
    """Serve the UI and the JSON API (spec at /openapi.json) over a store.

    \b
    Examples:
      evaltrace server
      EVALTRACE_SERVER_TOKEN=s3cret evaltrace server --host 0.0.0.0 --port 8080 \\
          --tracking-uri postgresql+psycopg://user@db/evaltrace --workers 4
    """
    if tracking_uri:
        os.environ["EVALTRACE_TRACKING_URI"] = tracking_uri  # read by each worker's app
    if monitor:
        os.environ[MONITOR_ENV] = "1"  # read by each worker's app (on SQLite, one runs)
    settings = resolve_settings({})
    closed = settings.server_token is not None or settings.server_tokens_file is not None
    if host not in _LOOPBACK and not closed:
        if not insecure:
            raise InvalidArgumentError(
                f"--host {host} is reachable from other machines: set EVALTRACE_SERVER_TOKEN "
                "or EVALTRACE_SERVER_TOKENS_FILE (or pass --insecure to serve without one)"
            )
        # Without a token, only Host names it was told of are answered: the address it
        # listens on, or any name for a wildcard address no list narrows.
        named = (
            host if host not in _WILDCARD else ("*" if not settings.server_allowed_hosts else "")
        )
        listed = ",".join(n for n in (settings.server_allowed_hosts, named) if n)
        os.environ["EVALTRACE_SERVER_ALLOWED_HOSTS"] = listed  # read by each worker's app
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError(
            "evaltrace server needs its extra: pip install 'evaltrace[server]'"
        ) from None
    shown = without_password(settings.tracking_uri)
    click.echo(f"evaltrace server on http://{host}:{port} ({shown})", err=True)
    uvicorn.run(
        "evaltrace.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )
