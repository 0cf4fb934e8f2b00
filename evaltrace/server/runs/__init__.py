"""The server's runs domain: its pages and its JSON API."""

from evaltrace.server.runs import api, pages

__all__ = ["api", "pages"]
