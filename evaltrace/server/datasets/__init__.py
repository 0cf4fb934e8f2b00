"""The server's datasets domain: its pages and its JSON API."""

from evaltrace.server.datasets import api, pages

__all__ = ["api", "pages"]
