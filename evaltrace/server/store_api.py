"""``/api/2/store/...``: the store's calls over HTTP, for the HTTP store (``http://`` tracking
URIs). One POST route per call of the table in store/http_api.py; the body is
``{"args": [...], "kwargs": {...}}`` in the wire codec (gzip allowed), the answer
``{"result": ...}``; errors are the API's JSON errors with the exception's class name."""

from __future__ import annotations

import gzip
import inspect
import types
import typing
import zlib
from collections import abc
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from evaltrace._json import loads_json
from evaltrace._session import Session
from evaltrace.datasets.records import Candidate
from evaltrace.exceptions import InvalidArgumentError, RequestTooLargeError
from evaltrace.search import parse_filter, parse_order_by
from evaltrace.search.keys import DATASETS, EXPERIMENTS, PROMPTS, TRACES
from evaltrace.search.unparse import filter_text
from evaltrace.store.base import RecordCandidate
from evaltrace.store.http_api import CALLS, StoreCall, call_path
from evaltrace.store.wire import decode, encode

__all__ = ["MAX_DECODED_BYTES", "router"]

MAX_DECODED_BYTES = 256 * 1024 * 1024  # a gzip body may not expand past this

router = APIRouter(tags=["store"])
_IMPLEMENTATIONS: dict[Any, type] = {RecordCandidate: Candidate}

_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "args": {"type": "array", "items": {}},
                        "kwargs": {"type": "object"},
                    },
                }
            }
        },
    }
}


def _endpoint(call: StoreCall) -> Any:
    async def endpoint(request: Request) -> Any:
        args, kwargs = _arguments(await _body(request))
        session: Session = request.app.state.session
        result = await run_in_threadpool(_make, session, call, args, kwargs)
        return {"result": result}

    endpoint.__name__ = f"store_{call.name.replace('.', '_')}"
    return endpoint


def _make(session: Session, call: StoreCall, args: list[Any], kwargs: dict[str, Any]) -> Any:
    store = session.store()
    target = store if call.facet is None else getattr(store, call.facet)
    method = getattr(target, call.method)
    try:
        bound = inspect.signature(method).bind(*args, **kwargs)
    except TypeError as exc:
        raise InvalidArgumentError(f"{call.name}: {exc}") from None
    hints = _hints(method)
    for name, value in bound.arguments.items():
        if name in hints and not conforms(value, hints[name]):
            raise InvalidArgumentError(
                f"{call.name}: argument {name!r} must be {_shown_hint(hints[name])}, "
                f"got {type(value).__name__}"
            )
    _reread_filters(call, bound.arguments)
    return encode(method(*bound.args, **bound.kwargs))


# Calls that take a parsed filter and sort keys, and the keys those may name.
_CATALOGUES = {
    "search_traces": TRACES,
    "datasets.search": DATASETS,
    "experiments.search": EXPERIMENTS,
    "prompts.search": PROMPTS,
}


def _reread_filters(call: StoreCall, arguments: dict[str, Any]) -> None:
    """A filter and sort keys sent as syntax trees are written back as text and parsed again,
    with the keys of what is searched: what runs has passed the parser's checks, whatever a
    client sent."""
    catalogue = _CATALOGUES.get(call.name)
    if catalogue is None:
        return
    try:
        for name in ("filter", "condition"):
            if arguments.get(name) is not None:
                arguments[name] = parse_filter(filter_text(arguments[name]), catalogue)
        if arguments.get("order_by"):
            clauses = [str(key) for key in arguments["order_by"]]
            arguments["order_by"] = parse_order_by(clauses, catalogue)
    except (AttributeError, TypeError, ValueError) as exc:
        if isinstance(exc, InvalidArgumentError):
            raise
        raise InvalidArgumentError(f"{call.name}: a malformed filter or order: {exc}") from None


def _hints(method: Any) -> dict[str, Any]:
    """The method's parameter types; names only known to type checkers count as Any."""
    function = getattr(method, "__func__", method)
    names = dict(vars(inspect.getmodule(function)) if inspect.getmodule(function) else {})
    names.setdefault("TraceRows", Any)
    try:
        return typing.get_type_hints(function, globalns=names)
    except (NameError, TypeError):
        return {}


def _shown_hint(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` has type ``hint`` (the shapes store signatures use; any other kind
    of hint is taken as satisfied)."""
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, option) for option in arguments)
    if origin is None:
        if getattr(hint, "_is_protocol", False):  # RecordCandidate: the class that implements it
            hint = _IMPLEMENTATIONS.get(hint, object)
        if hint is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if hint is int:
            return isinstance(value, int) and not isinstance(value, bool)
        return not isinstance(hint, type) or isinstance(value, hint)
    if origin in (list, tuple, abc.Sequence, abc.Iterable) and not isinstance(value, (str, dict)):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple:  # tuple[X, ...]; a fixed-length tuple's items are not checked
            item = arguments[0] if len(arguments) == 2 and arguments[1] is ... else Any
        else:
            item = arguments[0] if arguments else Any
        return all(conforms(element, item) for element in value)
    if origin in (dict, abc.Mapping):
        if not isinstance(value, dict):
            return False
        key, item = arguments if len(arguments) == 2 else (Any, Any)
        return all(conforms(k, key) and conforms(v, item) for k, v in value.items())
    return isinstance(value, origin) if isinstance(origin, type) else True


async def _body(request: Request) -> Any:
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = decompressor.decompress(raw, MAX_DECODED_BYTES + 1)
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise InvalidArgumentError(f"the gzip body cannot be decompressed: {exc}") from None
        if len(raw) > MAX_DECODED_BYTES:
            raise RequestTooLargeError(
                f"the body expands past {MAX_DECODED_BYTES} bytes when decompressed"
            )
    try:
        return loads_json(raw) if raw else {}
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidArgumentError(f"the body is not JSON we take: {exc}") from None


def _arguments(body: Any) -> tuple[list[Any], dict[str, Any]]:
    if not isinstance(body, dict):
        raise InvalidArgumentError('the body must be an object: {"args": [...], "kwargs": {...}}')
    try:
        args = decode(body.get("args") or [])
        kwargs = decode(body.get("kwargs") or {})
    except RecursionError:
        raise InvalidArgumentError("the arguments are nested too deeply") from None
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise InvalidArgumentError("args must be a list and kwargs an object")
    if not all(isinstance(key, str) for key in kwargs):
        raise InvalidArgumentError("kwargs keys must be strings")
    return args, kwargs


for _call in CALLS.values():
    router.add_api_route(
        call_path(_call),
        _endpoint(_call),
        methods=["POST"],
        summary=f"Store call {_call.name} (scopes: {', '.join(sorted(_call.scopes))})",
        openapi_extra=_BODY_SCHEMA,
    )
