"""``autolog()``: patch the openai client's request path once; ``disable=True`` restores it."""

from __future__ import annotations

import threading
from typing import Any, cast

from evaltrace.exceptions import MissingDependencyError

__all__ = ["autolog"]

_METHOD = "request"  # the one method every endpoint of the client goes through
_lock = threading.Lock()
_originals: dict[str, Any] = {}  # "Sync" / "Async" -> the method as it was in the class dict


def autolog(disable: bool = False) -> None:
    """Trace every call made through ``openai.OpenAI`` / ``AsyncOpenAI`` / Azure clients.

    Calling it twice patches once. Clients created before or after the call are both traced.
    ``autolog(disable=True)`` puts the original methods back exactly.
    """
    try:
        from openai import _base_client
    except ImportError as exc:
        raise MissingDependencyError(
            "evaltrace.openai.autolog() needs the openai package: pip install 'evaltrace[openai]'"
        ) from exc
    import wrapt

    from evaltrace.integrations.openai.wrappers import AsyncRequestWrapper, SyncRequestWrapper

    targets = {
        "Sync": (_base_client.SyncAPIClient, SyncRequestWrapper),
        "Async": (_base_client.AsyncAPIClient, AsyncRequestWrapper),
    }
    with _lock:
        for key, (cls, wrapper) in targets.items():
            if disable:
                if key in _originals:
                    setattr(cls, _METHOD, _originals.pop(key))
            elif key not in _originals:
                _originals[key] = cls.__dict__[_METHOD]
                wrapt.wrap_function_wrapper(cls, _METHOD, cast(Any, wrapper()))


def is_enabled() -> bool:
    return bool(_originals)
