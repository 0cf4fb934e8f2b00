"""An app traced by evaltrace, with its traces also exported over OTLP (the endpoint comes from
the environment): ``python -m tests.otlp.exporting_app`` prints the trace id it made."""

from __future__ import annotations

import evaltrace
import evaltrace.openai
from evaltrace.entities import SpanType


@evaltrace.trace(span_type=SpanType.TOOL)
def lookup(order_id: str, api_key: str) -> dict[str, str]:
    return {"order": order_id, "status": "shipped"}


@evaltrace.trace
def answer(question: str) -> str:
    lookup("o-7", api_key="sk-proj-abcdefghijklmnopqrstuvwx")
    evaltrace.log_feedback(  # a judgment of the running trace: exported as an evaluation event
        trace_id=evaltrace.get_active_trace_id(),
        name="grounded",
        value=True,
        rationale="cites the order",
    )
    with evaltrace.start_span("chat", span_type=SpanType.CHAT_MODEL) as chat:
        chat.set_inputs(
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
        )
        chat.set_outputs(
            {
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Shipped."},
                        "finish_reason": "stop",
                    }
                ]
            }
        )
        chat.set_attribute("gen_ai.usage.input_tokens", 9)
        chat.set_attribute("gen_ai.usage.output_tokens", 2)
    return "Shipped."


if __name__ == "__main__":
    answer("Where is o-7?")
    print(evaltrace.get_last_active_trace_id())
    assert evaltrace.flush(timeout=60)
