"""``evaltrace server``: the web UI and the JSON API over a store (needs ``evaltrace[server]``)."""

from __future__ import annotations

from typing import Any

__all__ = ["app_from_environment", "create_app"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    from evaltrace.server.app import create_app as create

    return create(*args, **kwargs)


MONITOR_ENV = "EVALTRACE_SERVER_MONITOR"  # set by ``evaltrace server --monitor``


# The server process's collector: OTLP ingest allocates thousands of row tuples a request, and
# CPython's default (a collection every 700 allocations, each walking the young objects, and
# now and then all of them) cost two clients about 15% of their throughput in ad-hoc runs
# shaped like bench_otlp.py's.
GC_THRESHOLDS = (50_000, 20, 100)


def app_from_environment() -> Any:
    """The app uvicorn starts in each worker: its store from ``EVALTRACE_TRACKING_URI``. The
    process is the server's alone, so it also tunes the garbage collector: what start-up
    made is frozen (never walked again) and collections come less often."""
    import gc
    import os

    app = create_app(monitor=os.environ.get(MONITOR_ENV) == "1")
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app
