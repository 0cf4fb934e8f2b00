"""Wrappers of the client's one request method, ``SyncAPIClient.request`` (and async).

Every endpoint goes through it, so one patch traces chat completions, responses, completions,
embeddings and any other call (the last as a generic span).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from evaltrace.integrations.openai.call_span import CallSpan
from evaltrace.integrations.openai.extract import endpoint_for, to_plain
from evaltrace.integrations.openai.streams import AsyncTracedStream, TracedStream, accumulator_for

__all__ = ["AsyncRequestWrapper", "SyncRequestWrapper"]

_UNREAD = "evaltrace.openai.response_unread"
_RAW_RESPONSE_HEADER = "x-stainless-raw-response"


def _options(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[1] if len(args) > 1 else kwargs.get("options")


def _start(
    instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[CallSpan | None, str]:
    options = _options(args, kwargs)
    method = str(getattr(options, "method", "post"))
    url = str(getattr(options, "url", ""))
    endpoint = endpoint_for(method, url)
    body = getattr(options, "json_data", None)
    if body is None:
        body = getattr(options, "params", None) or None
    return CallSpan.start(
        endpoint, body, str(getattr(instance, "base_url", ""))
    ), endpoint.operation


@lru_cache(maxsize=1)
def _stream_types() -> tuple[type, ...]:
    from openai import AsyncStream, Stream  # imported already: the client is running

    return (Stream, AsyncStream)


def _is_stream(result: Any) -> bool:
    return isinstance(result, _stream_types())


def _raw_mode(options: Any) -> str | None:
    """ "true" for with_raw_response, "stream" for with_streaming_response, else None."""
    headers = getattr(options, "headers", None)
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if key.lower() == _RAW_RESPONSE_HEADER:
            return str(value)
    return None


def _finish(call: CallSpan, result: Any, options: Any) -> None:
    mode = _raw_mode(options)
    if mode == "stream":
        # with_streaming_response: the body is not read yet, and reading it is the user's call.
        call.succeed(None, attributes={_UNREAD: True})
        return
    if mode is not None and callable(getattr(result, "parse", None)):
        result = result.parse()  # with_raw_response: cached, the user gets the same object
    call.succeed(to_plain(result))


class SyncRequestWrapper:
    def __call__(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call, operation = _start(instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        if _is_stream(result):
            return TracedStream(result, call, accumulator_for(operation))
        _finish(call, result, _options(args, kwargs))
        return result


class AsyncRequestWrapper:
    async def __call__(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call, operation = _start(instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            call.fail(exc)
            raise
        if _is_stream(result):
            return AsyncTracedStream(result, call, accumulator_for(operation))
        _finish(call, result, _options(args, kwargs))
        return result
