"""One store per tracking URI, created on first use and shared by the process."""

from __future__ import annotations

import os
import threading

from evaltrace._config import get_settings
from evaltrace.store.base import TraceStore

__all__ = ["get_store", "reset_stores"]

_lock = threading.Lock()
_stores: dict[str, TraceStore] = {}
_tracking_uri: str | None = None


def set_tracking_uri(uri: str) -> None:
    global _tracking_uri
    _tracking_uri = uri


def get_tracking_uri() -> str:
    return _tracking_uri or get_settings().tracking_uri


def get_store(uri: str | None = None) -> TraceStore:
    uri = uri or get_tracking_uri()
    store = _stores.get(uri)
    if store is None:
        with _lock:
            store = _stores.get(uri)
            if store is None:
                from evaltrace.store.sql_store import SqlStore

                store = _stores[uri] = SqlStore(uri)
    return store


def reset_stores() -> None:
    """Close every store and forget the tracking URI set in code."""
    global _tracking_uri
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
        _tracking_uri = None


def _dispose_after_fork() -> None:
    # A forked child must not reuse the parent's pooled connections.
    for store in _stores.values():
        engine = getattr(store, "engine", None)
        if engine is not None:
            engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_dispose_after_fork)
