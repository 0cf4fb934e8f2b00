"""The server's monitors domain: its pages and its JSON API."""

from evaltrace.server.monitors import api, pages

__all__ = ["api", "pages"]
