"""Where traces are kept: the store interface and its SQL implementation."""

from evaltrace.store.base import TracePage, TraceStore

__all__ = ["TracePage", "TraceStore"]
