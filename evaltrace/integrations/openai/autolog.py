"""``autolog()``: patch the openai client's request path once; ``disable=True`` restores it."""

from __future__ import annotations

import threading
from typing import Any, cast

from evaltrace.exceptions import MissingDependencyError

__all__ = ["autolog"]

_METHOD = "request"  # the one method every endpoint of the client goes through
_lock = threading.Lock()
# (class, the method as it was in its dict), for every class patched: put back on disable.
_originals: list[tuple[type, Any]] = []


def autolog(disable: bool = False) -> None:
    """Trace every call made through ``openai.OpenAI`` / ``AsyncOpenAI`` / Azure clients.

    Calling it twice patches once. Clients created before or after the call are both traced.
    ``autolog(disable=True)`` puts the original methods back exactly.

    The base clients' ``request`` is patched, and so is any subclass's own ``request``: another
    instrumentation (OpenInference's, say) wraps ``OpenAI.request`` and, when uninstrumented,
    leaves a copy of the original there that would hide the patch below it. Calls go through
    both instrumentations when both are on.
    """
    try:
        from openai import _base_client
    except ImportError as exc:
        raise MissingDependencyError(
            "evaltrace.openai.autolog() needs the openai package: pip install 'evaltrace[openai]'"
        ) from exc
    import wrapt

    from evaltrace.integrations.openai.wrappers import AsyncRequestWrapper, SyncRequestWrapper

    with _lock:
        if disable:
            while _originals:
                cls, original = _originals.pop()
                if _is_ours(cls.__dict__.get(_METHOD)):  # else replaced since: leave it
                    setattr(cls, _METHOD, original)
            return
        if _originals:
            return
        for base, wrapper in (
            (_base_client.SyncAPIClient, SyncRequestWrapper),
            (_base_client.AsyncAPIClient, AsyncRequestWrapper),
        ):
            for cls in _defining_request(base):
                _originals.append((cls, cls.__dict__[_METHOD]))
                wrapt.wrap_function_wrapper(cls, _METHOD, cast(Any, wrapper()))


def _defining_request(base: type) -> list[type]:
    """``base`` and its subclasses, at any depth, that define ``request`` themselves."""
    found, seen, todo = [], set(), [base]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if _METHOD in cls.__dict__:
            found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _is_ours(method: Any) -> bool:
    from evaltrace.integrations.openai.wrappers import AsyncRequestWrapper, SyncRequestWrapper

    wrapper = getattr(method, "_self_wrapper", None)  # wrapt's FunctionWrapper keeps it there
    return isinstance(wrapper, (SyncRequestWrapper, AsyncRequestWrapper))


def is_enabled() -> bool:
    return bool(_originals)
