"""Keep evaltrace's own failures out of the host application.

Code that runs on the application's behalf (decorators, span processors, the writer) wraps its
own work in :func:`handle_internal_errors`: a failure is logged once per call site and
swallowed, so the application carries on untraced. With ``EVALTRACE_RAISE_INTERNAL_ERRORS=1``
(the test suite sets it) the failure is re-raised, so our bugs fail loudly there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from evaltrace._config import get_settings

__all__ = ["handle_internal_errors", "log_internal_error", "logger"]

logger = logging.getLogger("evaltrace")
_reported: set[str] = set()


def log_internal_error(where: str, exc: BaseException) -> None:
    """Log an internal failure once per ``where``, or raise it when configured to."""
    if get_settings().raise_internal_errors:
        raise exc
    if where not in _reported:
        _reported.add(where)
        logger.warning(
            "evaltrace internal error in %s; the call continues untraced. "
            "Please report this (further errors here are logged at debug level).",
            where,
            exc_info=exc,
        )
    else:
        logger.debug("evaltrace internal error in %s", where, exc_info=exc)


@contextmanager
def handle_internal_errors(where: str) -> Iterator[None]:
    """Contain any ``Exception`` raised inside the block (see the module docstring)."""
    try:
        yield
    except Exception as exc:
        log_internal_error(where, exc)
