"""``evaltrace server``: the web UI and the JSON API over a store (needs ``evaltrace[server]``)."""

from __future__ import annotations

from typing import Any

__all__ = ["app_from_environment", "create_app"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    from evaltrace.server.app import create_app as create

    return create(*args, **kwargs)


MONITOR_ENV = "EVALTRACE_SERVER_MONITOR"  # set by ``evaltrace server --monitor``


def app_from_environment() -> Any:
    """The app uvicorn starts in each worker: its store from ``EVALTRACE_TRACKING_URI``."""
    import os

    return create_app(monitor=os.environ.get(MONITOR_ENV) == "1")
