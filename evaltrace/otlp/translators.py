"""Foreign GenAI conventions to evaltrace's span model: span type, inputs, outputs, token usage.

One translator per convention, each versioned; the first that applies to a span maps it, and
the span records which one did (``evaltrace.translator``). Raw attributes are always kept. A
translator that fails leaves the span unmapped (type UNKNOWN, the error in
``evaltrace.translator.error``); it never drops it.

Chat calls are normalized to the OpenAI chat shape evaltrace's own autolog stores (inputs
``{"model", "messages": [...]}``, outputs ``{"choices": [{"message": ...}]}``), so the UI's
conversation view, previews and dataset records read every source the same way.

- ``evaltrace`` — evaltrace's own OTLP export (``evaltrace.span.type``, ``input.value`` /
  ``output.value`` as JSON): a trace sent from one evaltrace to another arrives as it was.
- ``mlflow`` — MLflow's span attributes (``mlflow.spanType``, ``mlflow.spanInputs``,
  ``mlflow.spanOutputs``, ``mlflow.chat.tokenUsage``), JSON text.
- ``openinference`` — Arize OpenInference (``openinference.span.kind``, ``input.value`` /
  ``output.value``, ``llm.input_messages.N.message.*``, ``llm.token_count.*``).
- ``openllmetry`` — Traceloop OpenLLMetry (``traceloop.span.kind``,
  ``traceloop.entity.input/output``, ``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*``).
- ``gen_ai`` — OpenTelemetry GenAI semantic conventions (``gen_ai.operation.name``,
  ``gen_ai.request.model``, ``gen_ai.usage.*``, ``gen_ai.input.messages`` /
  ``gen_ai.output.messages`` attributes, or the older per-message events).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaltrace.entities import SpanEvent, SpanType
from evaltrace.entities.attribute_keys import USAGE_ATTRIBUTES

__all__ = ["TRANSLATED_BY", "TRANSLATOR_ERROR", "Mapped", "translate"]

TRANSLATED_BY = "evaltrace.translator"
TRANSLATOR_ERROR = "evaltrace.translator.error"
_INPUT, _OUTPUT, _TOTAL = USAGE_ATTRIBUTES  # gen_ai.usage.{input,output,total}_tokens


@dataclass
class Mapped:
    """What a translator found in a span; ``usage`` and ``cost`` become our usage attributes."""

    span_type: str = SpanType.UNKNOWN
    inputs: Any = None
    outputs: Any = None
    usage: dict[str, int] = field(default_factory=dict)  # gen_ai.usage.* key -> tokens
    cost: float | None = None
    model: str | None = None


def translate(attributes: Mapping[str, Any], events: Sequence[SpanEvent]) -> tuple[str, Mapped]:
    """The name/version of the translator that applies and what it mapped; ("", Mapped())
    when none applies. Raises what a failing translator raised (the caller keeps the span)."""
    for name, applies, mapper in _TRANSLATORS:
        if applies(attributes):
            return name, mapper(attributes, events)
    return "", Mapped()


# -- helpers ------------------------------------------------------------------------------------


def _json(value: Any) -> Any:
    """JSON text decoded; anything else (or text that is not JSON) as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _usage(input_tokens: Any, output_tokens: Any, total_tokens: Any = None) -> dict[str, int]:
    usage = {
        key: number
        for key, number in ((_INPUT, _int(input_tokens)), (_OUTPUT, _int(output_tokens)))
        if number is not None
    }
    total = _int(total_tokens)
    if total is not None:
        usage[_TOTAL] = total
    elif usage:
        usage[_TOTAL] = usage.get(_INPUT, 0) + usage.get(_OUTPUT, 0)
    return usage


_INDEXED = re.compile(r"^(\d+)\.(.+)$")


def _indexed(attributes: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    """``prefix.0.role``, ``prefix.0.content``, ... as ``[{"role": ..., "content": ...}]``,
    in index order (flattened lists, as OpenInference and OpenLLMetry write them)."""
    found: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        if not key.startswith(prefix):
            continue
        match = _INDEXED.match(key[len(prefix) :])
        if match:
            found.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [found[index] for index in sorted(found)]


def _chat(model: Any, messages: list[dict[str, Any]]) -> dict[str, Any]:
    inputs: dict[str, Any] = {"messages": messages}
    if isinstance(model, str) and model:
        inputs = {"model": model, **inputs}
    return inputs


def _choices(messages: list[dict[str, Any]], finish_reasons: Sequence[Any] = ()) -> dict[str, Any]:
    choices = []
    for index, message in enumerate(messages):
        choice: dict[str, Any] = {"index": index, "message": message}
        if index < len(finish_reasons) and finish_reasons[index] is not None:
            choice["finish_reason"] = finish_reasons[index]
        choices.append(choice)
    return {"choices": choices}


def _model(attributes: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return None


# -- evaltrace's own export (otlp/export.py) ------------------------------------------------------


def _evaltrace_applies(attributes: Mapping[str, Any]) -> bool:
    return "evaltrace.span.type" in attributes


def _evaltrace(attributes: Mapping[str, Any], events: Sequence[SpanEvent]) -> Mapped:
    def payload(key: str) -> Any:
        value = attributes.get(f"{key}.value")
        return _json(value) if attributes.get(f"{key}.mime_type") == "application/json" else value

    return Mapped(
        span_type=str(attributes["evaltrace.span.type"]),
        inputs=payload("input"),
        outputs=payload("output"),
    )


# -- mlflow -------------------------------------------------------------------------------------


def _mlflow_applies(attributes: Mapping[str, Any]) -> bool:
    return "mlflow.spanType" in attributes or "mlflow.spanInputs" in attributes


def _mlflow(attributes: Mapping[str, Any], events: Sequence[SpanEvent]) -> Mapped:
    span_type = _json(attributes.get("mlflow.spanType"))
    usage = _json(attributes.get("mlflow.chat.tokenUsage"))
    usage = usage if isinstance(usage, dict) else {}
    return Mapped(
        span_type=span_type if isinstance(span_type, str) and span_type else SpanType.UNKNOWN,
        inputs=_json(attributes.get("mlflow.spanInputs")),
        outputs=_json(attributes.get("mlflow.spanOutputs")),
        usage=_usage(
            usage.get("input_tokens"), usage.get("output_tokens"), usage.get("total_tokens")
        ),
    )


# -- OpenInference ------------------------------------------------------------------------------

_OPENINFERENCE_KINDS = {
    "LLM": SpanType.LLM,
    "CHAIN": SpanType.CHAIN,
    "TOOL": SpanType.TOOL,
    "AGENT": SpanType.AGENT,
    "RETRIEVER": SpanType.RETRIEVER,
    "EMBEDDING": SpanType.EMBEDDING,
    "RERANKER": SpanType.RERANKER,
    "GUARDRAIL": "GUARDRAIL",
    "EVALUATOR": "EVALUATOR",
}


def _openinference_applies(attributes: Mapping[str, Any]) -> bool:
    return "openinference.span.kind" in attributes


def _openinference_messages(attributes: Mapping[str, Any], prefix: str) -> list[dict[str, Any]]:
    messages = []
    for fields in _indexed(attributes, prefix):
        message: dict[str, Any] = {
            "role": fields.get("message.role", "user"),
            "content": fields.get("message.content"),
        }
        calls = _indexed(
            {k[len("message.") :]: v for k, v in fields.items() if k.startswith("message.")},
            "tool_calls.",
        )
        if calls:
            message["tool_calls"] = [
                {
                    "id": call.get("tool_call.id"),
                    "type": "function",
                    "function": {
                        "name": call.get("tool_call.function.name"),
                        "arguments": call.get("tool_call.function.arguments"),
                    },
                }
                for call in calls
            ]
        messages.append(message)
    return messages


def _openinference(attributes: Mapping[str, Any], events: Sequence[SpanEvent]) -> Mapped:
    kind = str(attributes.get("openinference.span.kind", "")).upper()
    span_type = _OPENINFERENCE_KINDS.get(kind, SpanType.UNKNOWN)
    model = _model(attributes, "llm.model_name")
    inputs = _json(attributes.get("input.value"))
    outputs = _json(attributes.get("output.value"))
    if span_type == SpanType.LLM:
        messages = _openinference_messages(attributes, "llm.input_messages.")
        answers = _openinference_messages(attributes, "llm.output_messages.")
        if messages or answers:
            span_type = SpanType.CHAT_MODEL
            # The request body itself when it holds the messages (OpenAI's shape already).
            if not (isinstance(inputs, dict) and isinstance(inputs.get("messages"), list)):
                inputs = _chat(model, messages)
            if not (isinstance(outputs, dict) and isinstance(outputs.get("choices"), list)):
                outputs = _choices(answers)
    cost = attributes.get("llm.cost.total")
    return Mapped(
        span_type=span_type,
        inputs=inputs,
        outputs=outputs,
        usage=_usage(
            attributes.get("llm.token_count.prompt"),
            attributes.get("llm.token_count.completion"),
            attributes.get("llm.token_count.total"),
        ),
        cost=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
        model=model,
    )


# -- OpenLLMetry --------------------------------------------------------------------------------

_TRACELOOP_KINDS = {
    "workflow": SpanType.CHAIN,
    "task": SpanType.CHAIN,
    "agent": SpanType.AGENT,
    "tool": SpanType.TOOL,
}


def _openllmetry_applies(attributes: Mapping[str, Any]) -> bool:
    return (
        "traceloop.span.kind" in attributes
        or "llm.request.type" in attributes
        or any(key.startswith(("gen_ai.prompt.", "gen_ai.completion.")) for key in attributes)
    )


def _openllmetry(attributes: Mapping[str, Any], events: Sequence[SpanEvent]) -> Mapped:
    kind = attributes.get("traceloop.span.kind")
    prompts = _indexed(attributes, "gen_ai.prompt.")
    completions = _indexed(attributes, "gen_ai.completion.")
    model = _model(attributes, "gen_ai.request.model", "gen_ai.response.model")
    usage = _usage(
        attributes.get(_INPUT, attributes.get("gen_ai.usage.prompt_tokens")),
        attributes.get(_OUTPUT, attributes.get("gen_ai.usage.completion_tokens")),
        attributes.get("llm.usage.total_tokens"),
    )
    if prompts or completions or attributes.get("llm.request.type") in ("chat", "completion"):
        chat = attributes.get("llm.request.type", "chat") == "chat"
        return Mapped(
            span_type=SpanType.CHAT_MODEL if chat else SpanType.LLM,
            inputs=_chat(model, [_plain_message(p) for p in prompts]),
            outputs=_choices(
                [_plain_message(c) for c in completions],
                [c.get("finish_reason") for c in completions],
            ),
            usage=usage,
            model=model,
        )
    return Mapped(
        span_type=_TRACELOOP_KINDS.get(str(kind), SpanType.UNKNOWN),
        inputs=_json(attributes.get("traceloop.entity.input")),
        outputs=_json(attributes.get("traceloop.entity.output")),
        usage=usage,
        model=model,
    )


def _plain_message(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {"role": fields.get("role", "user"), "content": fields.get("content")}


# -- OpenTelemetry GenAI semantic conventions ---------------------------------------------------

_GEN_AI_OPERATIONS = {
    "chat": SpanType.CHAT_MODEL,
    "generate_content": SpanType.CHAT_MODEL,
    "text_completion": SpanType.LLM,
    "embeddings": SpanType.EMBEDDING,
    "execute_tool": SpanType.TOOL,
    "invoke_agent": SpanType.AGENT,
    "create_agent": SpanType.AGENT,
}
_MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}


def _gen_ai_applies(attributes: Mapping[str, Any]) -> bool:
    return (
        "gen_ai.operation.name" in attributes
        or "gen_ai.system" in attributes
        or "gen_ai.provider.name" in attributes
    )


def _gen_ai(attributes: Mapping[str, Any], events: Sequence[SpanEvent]) -> Mapped:
    operation = str(attributes.get("gen_ai.operation.name", "chat"))
    span_type = _GEN_AI_OPERATIONS.get(operation, SpanType.UNKNOWN)
    model = _model(attributes, "gen_ai.request.model", "gen_ai.response.model")
    usage = _usage(
        attributes.get(_INPUT, attributes.get("gen_ai.usage.prompt_tokens")),
        attributes.get(_OUTPUT, attributes.get("gen_ai.usage.completion_tokens")),
        attributes.get(_TOTAL),
    )
    if span_type == SpanType.TOOL:
        return Mapped(
            span_type=span_type,
            inputs=_json(attributes.get("gen_ai.tool.call.arguments")),
            outputs=_json(attributes.get("gen_ai.tool.call.result")),
            usage=usage,
            model=model,
        )
    messages, answers, reasons = _gen_ai_messages(attributes, events)
    inputs: Any = _chat(model, messages) if messages or model else None
    outputs: Any = _choices(answers, reasons) if answers else None
    return Mapped(span_type, inputs, outputs, usage, model=model)


def _gen_ai_messages(
    attributes: Mapping[str, Any], events: Sequence[SpanEvent]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any]]:
    """Input messages, output messages and finish reasons: from the ``gen_ai.input.messages``
    / ``gen_ai.output.messages`` attributes (current conventions, with parts), else from the
    per-message events of the earlier conventions."""
    system = _json(attributes.get("gen_ai.system_instructions"))
    inputs = _json(attributes.get("gen_ai.input.messages"))
    outputs = _json(attributes.get("gen_ai.output.messages"))
    if isinstance(inputs, list) or isinstance(outputs, list):
        messages = (
            [_from_parts(m) for m in inputs if isinstance(m, dict)]
            if isinstance(inputs, list)
            else []
        )
        if isinstance(system, list):
            messages.insert(0, {"role": "system", "content": _text_of_parts(system)})
        answers = [m for m in outputs if isinstance(m, dict)] if isinstance(outputs, list) else []
        return (
            messages,
            [_from_parts(m) for m in answers],
            [m.get("finish_reason") for m in answers],
        )
    messages, answers, reasons = [], [], []
    for event in events:
        role = _MESSAGE_EVENTS.get(event.name)
        if role is not None:
            message = {"role": event.attributes.get("role", role)}
            message["content"] = _json(event.attributes.get("content"))
            messages.append(message)
        elif event.name == "gen_ai.choice":
            body = _json(event.attributes.get("message"))
            answers.append(
                body if isinstance(body, dict) else {"role": "assistant", "content": body}
            )
            reasons.append(event.attributes.get("finish_reason"))
        elif event.name == "gen_ai.content.prompt":
            messages.append({"role": "user", "content": event.attributes.get("gen_ai.prompt")})
        elif event.name == "gen_ai.content.completion":
            answers.append(
                {"role": "assistant", "content": event.attributes.get("gen_ai.completion")}
            )
            reasons.append(None)
    return messages, answers, reasons


def _from_parts(message: Mapping[str, Any]) -> dict[str, Any]:
    """A conventions message (``role``, ``parts``) as an OpenAI-shaped one."""
    parts = message.get("parts")
    if not isinstance(parts, list):
        return {"role": message.get("role", "user"), "content": message.get("content")}
    result: dict[str, Any] = {"role": message.get("role", "user"), "content": _text_of_parts(parts)}
    calls = [
        {
            "id": part.get("id"),
            "type": "function",
            "function": {"name": part.get("name"), "arguments": _arguments(part.get("arguments"))},
        }
        for part in parts
        if isinstance(part, dict) and part.get("type") == "tool_call"
    ]
    if calls:
        result["tool_calls"] = calls
    return result


def _text_of_parts(parts: list[Any]) -> str | None:
    texts = [
        str(part.get("content", ""))
        for part in parts
        if isinstance(part, dict) and part.get("type") in ("text", "tool_call_response")
    ]
    return "\n".join(texts) if texts else None


def _arguments(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


_Translator = tuple[str, Callable[[Mapping[str, Any]], bool], Callable[..., Mapped]]
# The first that applies maps the span: the most specific conventions first.
_TRANSLATORS: tuple[_Translator, ...] = (
    ("evaltrace/1", _evaltrace_applies, _evaltrace),
    ("mlflow/1", _mlflow_applies, _mlflow),
    ("openinference/1", _openinference_applies, _openinference),
    ("openllmetry/1", _openllmetry_applies, _openllmetry),
    ("gen_ai/1", _gen_ai_applies, _gen_ai),
)
