"""Where traces are kept: the store interface and its SQL implementation."""

from evaltrace.store.base import TracePage, TraceStore
from evaltrace.store.registry import get_store, get_tracking_uri, set_tracking_uri

__all__ = ["TracePage", "TraceStore", "get_store", "get_tracking_uri", "set_tracking_uri"]
