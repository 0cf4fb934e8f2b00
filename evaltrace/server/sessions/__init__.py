"""The server's sessions domain: its pages and its JSON API."""

from evaltrace.server.sessions import api, pages

__all__ = ["api", "pages"]
