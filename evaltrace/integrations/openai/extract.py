"""What a call to the OpenAI API says about itself: endpoint, request settings, response facts.

Attribute names follow the OpenTelemetry GenAI semantic conventions (``gen_ai.*``) where they
exist. Nothing here reads headers: the API key never reaches a span.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlparse

from evaltrace.entities import SpanType
from evaltrace.integrations.openai.pricing import estimate_cost

__all__ = ["Endpoint", "endpoint_for", "request_attributes", "response_attributes", "to_plain"]


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    span_type: str
    operation: str


_ENDPOINTS = {
    "/chat/completions": Endpoint("openai.chat.completions", SpanType.CHAT_MODEL, "chat"),
    "/responses": Endpoint("openai.responses", SpanType.CHAT_MODEL, "responses"),
    "/completions": Endpoint("openai.completions", SpanType.LLM, "text_completion"),
    "/embeddings": Endpoint("openai.embeddings", SpanType.EMBEDDING, "embeddings"),
}

_REQUEST_SETTINGS = {
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
    "stop": "gen_ai.request.stop_sequences",
    "n": "gen_ai.request.choice.count",
    "tools": "gen_ai.tool.definitions",
    "tool_choice": "gen_ai.request.tool_choice",
    "response_format": "gen_ai.request.response_format",
    "reasoning_effort": "gen_ai.request.reasoning_effort",
    "stream": "gen_ai.request.stream",
}


def endpoint_for(method: str, url: str) -> Endpoint:
    path = urlparse(url).path if "://" in url else url
    path = "/" + path.strip("/")
    for suffix, endpoint in _ENDPOINTS.items():
        if path.endswith(suffix) and method.lower() == "post":
            return endpoint
    return Endpoint(f"openai {method.upper()} {path}", SpanType.UNKNOWN, method.lower())


def to_plain(value: Any) -> Any:
    """A response object (pydantic) as plain JSON-able data, without unset fields."""
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump):
        try:
            return model_dump(mode="json", exclude_unset=True, warnings=False)
        except TypeError:  # pydantic v1 style
            return model_dump()
    return value


def request_attributes(endpoint: Endpoint, body: Any, base_url: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.system": "openai",
        "gen_ai.operation.name": endpoint.operation,
        **_server_attributes(base_url),
    }
    if isinstance(body, dict):
        if "model" in body:
            attributes["gen_ai.request.model"] = body["model"]
        for key, attribute in _REQUEST_SETTINGS.items():
            if key in body and body[key] is not None:
                attributes[attribute] = body[key]
        # The reference's names too: each request parameter but the messages, as given.
        for key, value in body.items():
            if key not in _MESSAGE_PARAMETERS and value is not None:
                attributes.setdefault(key, value)
    return attributes


_MESSAGE_PARAMETERS = frozenset({"messages", "input", "prompt"})


@lru_cache(maxsize=64)
def _server_attributes(base_url: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {"evaltrace.openai.base_url": base_url}
    parsed = urlparse(base_url)
    if parsed.hostname:
        attributes["server.address"] = parsed.hostname
    if parsed.port:
        attributes["server.port"] = parsed.port
    return attributes


def response_attributes(response: Any) -> dict[str, Any]:
    """Model, id, finish reasons, tool calls, token usage and cost from a response dict."""
    if not isinstance(response, dict):
        return {}
    attributes: dict[str, Any] = {}
    if response.get("model"):
        attributes["gen_ai.response.model"] = response["model"]
    if response.get("id"):
        attributes["gen_ai.response.id"] = response["id"]
    finish_reasons: list[Any] = []
    tool_calls: list[Any] = []
    for choice in response.get("choices") or []:
        if choice.get("finish_reason"):
            finish_reasons.append(choice["finish_reason"])
        message = choice.get("message") or {}
        tool_calls.extend(message.get("tool_calls") or [])
    for item in response.get("output") or []:  # Responses API
        if item.get("type") == "function_call":
            tool_calls.append(item)
    if response.get("object") == "response" and response.get("status"):
        finish_reasons.append(response["status"])
    if finish_reasons:
        attributes["gen_ai.response.finish_reasons"] = finish_reasons
    if tool_calls:
        attributes["gen_ai.response.tool_calls"] = tool_calls
    usage = response.get("usage") or {}
    input_tokens = usage.get("prompt_tokens", usage.get("input_tokens"))
    output_tokens = usage.get("completion_tokens", usage.get("output_tokens"))
    total_tokens = usage.get("total_tokens")
    if input_tokens is not None:
        attributes["gen_ai.usage.input_tokens"] = input_tokens
    if output_tokens is not None:
        attributes["gen_ai.usage.output_tokens"] = output_tokens
    if total_tokens is not None:
        attributes["gen_ai.usage.total_tokens"] = total_tokens
    # No usage reported (a stream without include_usage): the cost is unknown, not zero.
    no_usage = input_tokens is None and output_tokens is None
    cost = None if no_usage else estimate_cost(response.get("model"), input_tokens, output_tokens)
    if cost is not None:
        attributes["evaltrace.cost_usd"] = cost
    return attributes
