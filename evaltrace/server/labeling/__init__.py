"""The server's labeling domain: its pages and its JSON API."""

from evaltrace.server.labeling import api, pages

__all__ = ["api", "pages"]
