"""The server's traces domain: its pages and its JSON API."""

from evaltrace.server.traces import api, pages

__all__ = ["api", "pages"]
