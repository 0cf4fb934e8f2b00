"""A small OpenAI-compatible HTTP server for offline tests and examples.

    with OpenAIServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])

It answers chat completions (plain and SSE streaming, tool calls, usage), the Responses API
(plain and streamed, with the event sequence OpenAI sends), legacy completions and embeddings,
deterministically: the answer echoes the last user message. Azure OpenAI's routes are served
too: ``openai.AzureOpenAI(azure_endpoint=server.root_url, api_version=..., api_key=...)`` calls
``/openai/deployments/<deployment>/...`` (the deployment is the model answered) or
``/openai/v1/...``. ``server.script(...)`` queues replies for the next requests: a text, tool
calls, or an HTTP error status (429, 500, ...); ``responder=fn`` answers any request the queue
does not (``fn(body)`` returns a reply, a text, a status or None for the default).
``server.requests`` records what was received.
Standard library only; runs in a daemon thread on a free 127.0.0.1 port.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OpenAIServer", "ScriptedReply"]


@dataclass(frozen=True)
class ScriptedReply:
    """What the server answers to one request.

    ``text``: the assistant's content (default: an echo of the last user message);
    ``tool_calls``: ``[{"name": ..., "arguments": {...}}]``; ``status``: an HTTP error status
    to return instead (with an OpenAI-style error body); ``finish_reason``: defaults to
    ``"tool_calls"`` with tool calls, else ``"stop"``; ``content_parts``: a streamed chat sends
    each delta's content as a list of text parts (``[{"type": "text", "text": ...}]``), as some
    OpenAI-compatible servers do.
    """

    text: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None
    finish_reason: str | None = None
    content_parts: bool = False


class OpenAIServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        model: str | None = None,
        responder: Callable[[dict[str, Any]], ScriptedReply | str | int | None] | None = None,
    ) -> None:
        self._replies: deque[ScriptedReply] = deque()
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.model = model
        server = self

        class Handler(_Handler):
            owner = server

        self._http = ThreadingHTTPServer((host, port), Handler)
        self._http.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        """The server's address without the API prefix (Azure's ``azure_endpoint``)."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> OpenAIServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._http.serve_forever, name="openai-test-server", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._http.shutdown()
            self._thread.join()
            self._thread = None
        self._http.server_close()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *replies: ScriptedReply | str | int) -> None:
        """Queue replies for the next requests: a ScriptedReply, a text, or an error status."""
        for reply in replies:
            if isinstance(reply, str):
                reply = ScriptedReply(text=reply)
            elif isinstance(reply, int):
                reply = ScriptedReply(status=reply)
            self._replies.append(reply)

    def next_reply(self, body: dict[str, Any] | None = None) -> ScriptedReply:
        """The next queued reply; else what ``responder(body)`` says; else the default echo."""
        try:
            return self._replies.popleft()
        except IndexError:
            pass
        answer = self.responder(body or {}) if self.responder is not None else None
        if isinstance(answer, str):
            return ScriptedReply(text=answer)
        if isinstance(answer, int):
            return ScriptedReply(status=answer)
        return answer or ScriptedReply()


def _last_user_text(body: dict[str, Any]) -> str:
    if "messages" in body:
        for message in reversed(body["messages"]):
            if message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, list):
                    return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
                return str(content)
    value = body.get("input", body.get("prompt", ""))
    if isinstance(value, list):
        parts = []
        for item in value:
            if isinstance(item, dict):
                content = item.get("content", "")
                parts.append(content if isinstance(content, str) else json.dumps(content))
            else:
                parts.append(str(item))
        return " ".join(parts)
    return str(value)


def _route(raw_path: str) -> tuple[str, str | None]:
    """The OpenAI path a request is for, and the Azure deployment it names (if any):
    ``/openai/deployments/<d>/chat/completions`` and ``/openai/v1/responses`` are served as
    ``/v1/chat/completions`` and ``/v1/responses``."""
    path = raw_path.split("?")[0].rstrip("/")
    parts = path.split("/")
    if path.startswith("/openai/deployments/") and len(parts) > 4:
        return "/v1/" + "/".join(parts[4:]), parts[3]
    if path.startswith("/openai/v1/"):
        return path[len("/openai") :], None
    return path, None


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


def _chunks(text: str) -> list[str]:
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)]


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # or every response waits ~40 ms for a delayed ACK

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self.owner.requests.append({"path": self.path, "body": None, "headers": dict(self.headers)})
        reply = self.owner.next_reply()
        if reply.status is not None:
            self._error(reply.status)
        elif self.path.split("?")[0].rstrip("/") == "/v1/models":
            model = {
                "id": self.owner.model or "test-model",
                "object": "model",
                "created": 0,
                "owned_by": "evaltrace",
            }
            self._json({"object": "list", "data": [model]})
        else:
            self._error(404, f"unknown path {self.path}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        self.owner.requests.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        reply = self.owner.next_reply(body)
        if reply.status is not None:
            self._error(reply.status)
            return
        path, deployment = _route(self.path)
        if deployment is not None and isinstance(body, dict):
            body = {**body, "model": body.get("model") or deployment}
        routes = {
            "/v1/chat/completions": self._chat,
            "/v1/responses": self._responses,
            "/v1/completions": self._completions,
            "/v1/embeddings": self._embeddings,
        }
        handler = routes.get(path)
        if handler is None:
            self._error(404, f"unknown path {path}")
            return
        handler(body, reply)

    # -- plumbing -----------------------------------------------------------------------------

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_test")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str | None = None) -> None:
        kinds = {
            400: "invalid_request_error",
            401: "authentication_error",
            429: "rate_limit_exceeded",
        }
        self._json(
            {
                "error": {
                    "message": message or f"scripted error {status}",
                    "type": kinds.get(status, "server_error"),
                    "code": str(status),
                }
            },
            status,
        )

    def _sse(self, events: list[tuple[str | None, dict[str, Any] | str]]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for event, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            prefix = f"event: {event}\n" if event else ""
            try:
                self.wfile.write(f"{prefix}data: {text}\n\n".encode())
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
                return

    def _model(self, body: dict[str, Any]) -> str:
        return self.owner.model or str(body.get("model", "test-model"))

    # -- endpoints ----------------------------------------------------------------------------

    def _chat(self, body: dict[str, Any], reply: ScriptedReply) -> None:
        prompt = _last_user_text(body)
        text = (
            reply.text
            if reply.text is not None
            else ("" if reply.tool_calls else f"You said: {prompt}")
        )
        tool_calls: list[dict[str, Any]] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": json.dumps(call.get("arguments", {})),
                },
            }
            for i, call in enumerate(reply.tool_calls)
        ]
        finish = reply.finish_reason or ("tool_calls" if tool_calls else "stop")
        usage = {
            "prompt_tokens": _tokens(prompt),
            "completion_tokens": _tokens(text) if text else len(tool_calls),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        base = {"id": "chatcmpl-test", "created": int(time.time()), "model": self._model(body)}
        if not body.get("stream"):
            message: dict[str, Any] = {
                "role": "assistant",
                "content": text if text or not tool_calls else None,
            }
            if tool_calls:
                message["tool_calls"] = tool_calls
            self._json(
                {
                    **base,
                    "object": "chat.completion",
                    "usage": usage,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                }
            )
            return
        events: list[tuple[str | None, dict[str, Any] | str]] = []
        chunk = {**base, "object": "chat.completion.chunk"}
        events.append(
            (
                None,
                {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
            )
        )
        for piece in _chunks(text) if text else []:
            content: Any = [{"type": "text", "text": piece}] if reply.content_parts else piece
            events.append(
                (None, {**chunk, "choices": [{"index": 0, "delta": {"content": content}}]})
            )
        for i, call in enumerate(tool_calls):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            first = {
                "index": i,
                "id": call["id"],
                "type": "function",
                "function": {"name": call["function"]["name"], "arguments": arguments[:half]},
            }
            events.append(
                (None, {**chunk, "choices": [{"index": 0, "delta": {"tool_calls": [first]}}]})
            )
            rest = {"index": i, "function": {"arguments": arguments[half:]}}
            events.append(
                (None, {**chunk, "choices": [{"index": 0, "delta": {"tool_calls": [rest]}}]})
            )
        events.append(
            (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        )
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append((None, {**chunk, "choices": [], "usage": usage}))
        events.append((None, "[DONE]"))
        self._sse(events)

    def _responses(self, body: dict[str, Any], reply: ScriptedReply) -> None:
        prompt = _last_user_text(body)
        text = reply.text if reply.text is not None else f"You said: {prompt}"
        usage = {"input_tokens": _tokens(prompt), "output_tokens": _tokens(text)}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        message = {
            "id": "msg_test",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        response = {
            "id": "resp_test",
            "object": "response",
            "created_at": int(time.time()),
            "model": self._model(body),
            "status": "completed",
            "output": [message],
            "usage": usage,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        }
        if not body.get("stream"):
            self._json(response)
            return
        self._sse(_response_events(response, message, text))

    def _completions(self, body: dict[str, Any], reply: ScriptedReply) -> None:
        prompt = _last_user_text(body)
        text = reply.text if reply.text is not None else f"You said: {prompt}"
        usage = {"prompt_tokens": _tokens(prompt), "completion_tokens": _tokens(text)}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        self._json(
            {
                "id": "cmpl-test",
                "object": "text_completion",
                "created": int(time.time()),
                "model": self._model(body),
                "usage": usage,
                "choices": [{"index": 0, "text": text, "finish_reason": "stop", "logprobs": None}],
            }
        )

    def _embeddings(self, body: dict[str, Any], reply: ScriptedReply) -> None:
        inputs = body.get("input", "")
        items = inputs if isinstance(inputs, list) else [inputs]
        data = []
        for i, item in enumerate(items):
            digest = hashlib.sha256(str(item).encode()).digest()
            data.append(
                {"object": "embedding", "index": i, "embedding": [b / 255 for b in digest[:8]]}
            )
        tokens = sum(_tokens(str(item)) for item in items)
        self._json(
            {
                "object": "list",
                "data": data,
                "model": self._model(body),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _response_events(
    response: dict[str, Any], message: dict[str, Any], text: str
) -> list[tuple[str | None, dict[str, Any] | str]]:
    """A streamed Responses answer, event by event as OpenAI sends it: created, in_progress,
    the output item and content part added, the text deltas, then each done, and completed."""
    in_progress = {**response, "status": "in_progress", "output": [], "usage": None}
    empty_part = {"type": "output_text", "text": "", "annotations": []}
    part = message["content"][0]
    payloads: list[dict[str, Any]] = [
        {"type": "response.created", "response": in_progress},
        {"type": "response.in_progress", "response": in_progress},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**message, "status": "in_progress", "content": []},
        },
        {
            "type": "response.content_part.added",
            "item_id": message["id"],
            "output_index": 0,
            "content_index": 0,
            "part": empty_part,
        },
    ]
    place = {"item_id": message["id"], "output_index": 0, "content_index": 0}
    for piece in _chunks(text):
        payloads.append(
            {"type": "response.output_text.delta", **place, "delta": piece, "logprobs": []}
        )
    payloads += [
        {"type": "response.output_text.done", **place, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **place, "part": part},
        {"type": "response.output_item.done", "output_index": 0, "item": message},
        {"type": "response.completed", "response": response},
    ]
    return [
        (payload["type"], {**payload, "sequence_number": n}) for n, payload in enumerate(payloads)
    ]
