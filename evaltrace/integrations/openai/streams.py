"""Streams: the user's stream object, proxied so the call's span ends exactly once.

The span ends when the stream is exhausted, closed, left as a context manager, raises, or is
garbage-collected half-read (then ``evaltrace.stream.incomplete`` is set). Its outputs are the
response rebuilt from the chunks, as if it had not been streamed.
"""

from __future__ import annotations

import time
from typing import Any

import wrapt

from evaltrace._internal_errors import log_internal_error
from evaltrace.integrations.openai.call_span import CallSpan, Event
from evaltrace.integrations.openai.extract import to_plain

__all__ = ["AsyncTracedStream", "TracedStream", "accumulator_for"]


class _Chat:
    """Rebuilds a chat completion from ``chat.completion.chunk`` items."""

    def __init__(self) -> None:
        self.base: dict[str, Any] = {}
        self.choices: dict[int, dict[str, Any]] = {}
        self.usage: Any = None

    def add(self, chunk: dict[str, Any]) -> None:
        for key in ("id", "created", "model", "system_fingerprint"):
            if chunk.get(key) is not None:
                self.base[key] = chunk[key]
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            state = self.choices.setdefault(
                choice.get("index", 0), {"content": [], "tool_calls": {}, "role": "assistant"}
            )
            delta = choice.get("delta") or {}
            if delta.get("role"):
                state["role"] = delta["role"]
            content = delta.get("content")
            if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
                state["content"].extend(content)
            elif content:
                state["content"].append(content)
            for call in delta.get("tool_calls") or []:
                slot = state["tool_calls"].setdefault(
                    call.get("index", 0),
                    {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
                )
                if call.get("id"):
                    slot["id"] = call["id"]
                function = call.get("function") or {}
                if function.get("name"):
                    slot["function"]["name"] += function["name"]
                if function.get("arguments"):
                    slot["function"]["arguments"] += function["arguments"]
            if choice.get("finish_reason"):
                state["finish_reason"] = choice["finish_reason"]

    def result(self) -> dict[str, Any]:
        choices = []
        for index in sorted(self.choices):
            state = self.choices[index]
            message: dict[str, Any] = {
                "role": state["role"],
                "content": _joined_content(state["content"]),
            }
            if state["tool_calls"]:
                message["tool_calls"] = [
                    state["tool_calls"][i] for i in sorted(state["tool_calls"])
                ]
            choices.append(
                {"index": index, "message": message, "finish_reason": state.get("finish_reason")}
            )
        result = {**self.base, "object": "chat.completion", "choices": choices}
        if self.usage is not None:
            result["usage"] = self.usage
        return result


def _joined_content(pieces: list[Any]) -> Any:
    """Text deltas joined; a stream of content parts rebuilt as parts, adjacent text joined."""
    if not pieces:
        return None
    if all(isinstance(piece, str) for piece in pieces):
        return "".join(pieces)
    parts: list[Any] = []
    for piece in pieces:
        if isinstance(piece, str):
            piece = {"type": "text", "text": piece}
        is_text = isinstance(piece, dict) and piece.get("type") == "text"
        text = piece.get("text") if is_text else None
        if isinstance(text, str) and parts:
            last = parts[-1]
            if isinstance(last, dict) and last.get("type") == "text":
                parts[-1] = {**last, "text": str(last.get("text", "")) + text}
                continue
        parts.append(piece)
    return parts


class _Responses:
    """Rebuilds a Responses API response from its stream events."""

    def __init__(self) -> None:
        self.final: dict[str, Any] | None = None
        self.text: list[str] = []

    def add(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            self.final = event.get("response")
        elif kind == "response.output_text.delta":
            self.text.append(event.get("delta", ""))

    def result(self) -> dict[str, Any]:
        if self.final is not None:
            return self.final
        return {"object": "response", "output_text": "".join(self.text), "status": "incomplete"}


class _Completions:
    def __init__(self) -> None:
        self.base: dict[str, Any] = {}
        self.text: dict[int, list[str]] = {}
        self.finish: dict[int, str] = {}
        self.usage: Any = None

    def add(self, chunk: dict[str, Any]) -> None:
        for key in ("id", "created", "model"):
            if chunk.get(key) is not None:
                self.base[key] = chunk[key]
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            self.text.setdefault(index, []).append(choice.get("text") or "")
            if choice.get("finish_reason"):
                self.finish[index] = choice["finish_reason"]

    def result(self) -> dict[str, Any]:
        choices = [
            {"index": i, "text": "".join(self.text[i]), "finish_reason": self.finish.get(i)}
            for i in sorted(self.text)
        ]
        result = {**self.base, "object": "text_completion", "choices": choices}
        if self.usage is not None:
            result["usage"] = self.usage
        return result


class _Items:
    """Any other stream: the items themselves."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def add(self, item: Any) -> None:
        self.items.append(item)

    def result(self) -> list[Any]:
        return self.items


def accumulator_for(operation: str) -> Any:
    return {"chat": _Chat, "responses": _Responses, "text_completion": _Completions}.get(
        operation, _Items
    )()


class _StreamTracing:
    """The bookkeeping shared by the sync and async proxies."""

    def __init__(self, call: CallSpan, accumulator: Any) -> None:
        self.call = call
        self.accumulator = accumulator
        self.started_ns = time.perf_counter_ns()
        self.first_item = True
        self.chunks: list[tuple[int, Any]] = []  # (time, the chunk as plain data)

    def add(self, item: Any) -> None:
        if self.first_item:
            self.first_item = False
            ttft = time.perf_counter_ns() - self.started_ns
            self.call.span.add_event("first_token", {"time_to_first_token_ns": ttft})
            self.call.set("evaltrace.time_to_first_token_ns", ttft)
        try:
            plain = to_plain(item)
            self.chunks.append((time.time_ns(), plain))
            self.accumulator.add(plain)
        except Exception:  # an unexpected chunk shape: keep the stream going, lose no data
            pass

    def outputs(self) -> Any:
        """The rebuilt response; a chunk shape the accumulator cannot rebuild costs the span its
        outputs, never the application its stream."""
        try:
            return self.accumulator.result()
        except Exception as exc:
            log_internal_error("openai stream outputs", exc)
            return None

    def finish(self, *, incomplete: str | None = None) -> None:
        if self.call.ended:
            return
        extra = {"evaltrace.stream.incomplete": incomplete} if incomplete else {}
        self.call.succeed(self.outputs(), events=self.chunk_events(), attributes=extra)

    def fail(self, exception: BaseException) -> None:
        self.call.fail(exception, outputs=self.outputs(), events=self.chunk_events())

    def chunk_events(self) -> list[Event]:
        """One event per chunk, as the reference records them: ``mlflow.chunk.item.<i>``
        holding the chunk under ``mlflow.chunk.value`` (as JSON: encoded on the writer's
        thread, where the events are added)."""
        return [
            (f"mlflow.chunk.item.{i}", {"mlflow.chunk.value": chunk}, at)
            for i, (at, chunk) in enumerate(self.chunks)
        ]


class TracedStream(wrapt.ObjectProxy):  # type: ignore[misc]
    """Behaves as the ``openai.Stream`` it wraps: iteration, ``with``, ``close()``, ``response``."""

    def __init__(self, stream: Any, call: CallSpan, accumulator: Any) -> None:
        super().__init__(stream)
        self._self_tracing = _StreamTracing(call, accumulator)

    def __iter__(self) -> TracedStream:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self.__wrapped__)
        except StopIteration:
            self._self_tracing.finish()
            raise
        except BaseException as exc:
            self._self_tracing.fail(exc)
            raise
        self._self_tracing.add(item)
        return item

    def __enter__(self) -> TracedStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_tracing.finish(incomplete="closed before the end")

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_tracing.finish(incomplete="closed before the end")

    def __del__(self) -> None:
        tracing = getattr(self, "_self_tracing", None)
        if tracing is not None and not tracing.call.ended:
            tracing.finish(incomplete="garbage-collected before the end")
            try:  # release the connection the abandoned stream still holds
                self.__wrapped__.response.close()
            except Exception:
                pass


class AsyncTracedStream(wrapt.ObjectProxy):  # type: ignore[misc]
    """Behaves as the ``openai.AsyncStream`` it wraps."""

    def __init__(self, stream: Any, call: CallSpan, accumulator: Any) -> None:
        super().__init__(stream)
        self._self_tracing = _StreamTracing(call, accumulator)

    def __aiter__(self) -> AsyncTracedStream:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_tracing.finish()
            raise
        except BaseException as exc:
            self._self_tracing.fail(exc)
            raise
        self._self_tracing.add(item)
        return item

    async def __aenter__(self) -> AsyncTracedStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_tracing.finish(incomplete="closed before the end")

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_tracing.finish(incomplete="closed before the end")

    def __del__(self) -> None:
        tracing = getattr(self, "_self_tracing", None)
        if tracing is not None and not tracing.call.ended:
            tracing.finish(incomplete="garbage-collected before the end")
