"""The customer-support bot of the reference workflow: traced with autolog, then annotated.

    python examples/support_bot.py

By default it talks to evaltrace's local OpenAI-compatible test server, so it runs offline with
no API key. With OPENAI_API_KEY set (and no OPENAI_BASE_URL override) it uses the real OpenAI.
Traces go to evaltrace.db unless EVALTRACE_TRACKING_URI says otherwise.
"""

from __future__ import annotations

import contextlib
import os

import openai

import evaltrace
import evaltrace.openai
from evaltrace.testing import OpenAIServer

KNOWLEDGE = {
    "refund": "Full refunds within 30 days with receipt.",
    "shipping": "Standard: 5-7 days. Express available.",
    "warranty": "1-year manufacturer warranty included.",
}


class CustomerSupportBot:
    def __init__(self, client: openai.OpenAI) -> None:
        self.client = client

    @evaltrace.trace(span_type=evaltrace.SpanType.CHAIN)
    def answer(self, question: str) -> str:
        context = self._get_context(question)
        response = self.client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "You are a helpful support assistant."},
                {"role": "user", "content": f"Context: {context}\n\nQuestion: {question}"},
            ],
            temperature=0.3,
        )
        return response.choices[0].message.content or ""

    @evaltrace.trace(span_type=evaltrace.SpanType.RETRIEVER)
    def _get_context(self, question: str) -> str:
        for key, value in KNOWLEDGE.items():
            if key in question.lower():
                return value
        return "General customer support information."


def main() -> None:
    evaltrace.set_experiment("Customer Support Bot")
    evaltrace.openai.autolog()
    use_real_openai = bool(os.environ.get("OPENAI_API_KEY")) and not os.environ.get(
        "OPENAI_BASE_URL"
    )
    with contextlib.ExitStack() as stack:
        if use_real_openai:
            client = openai.OpenAI()
        else:
            server = stack.enter_context(OpenAIServer())
            client = openai.OpenAI(base_url=server.base_url, api_key="offline")
        bot = CustomerSupportBot(client)
        for question in (
            "What is your refund policy?",
            "How long does shipping take?",
            "Is my product under warranty?",
        ):
            print(f"Q: {question}\nA: {bot.answer(question)}\n")

    # Ground truth for the refund question, as a reviewer would add it.
    for trace in evaltrace.search_traces(
        filter_string="attributes.name = 'answer' AND span.type = 'CHAT_MODEL'",
        max_results=3,
        return_type="list",
    ):
        question = trace.data._get_root_span().inputs["question"]  # type: ignore[union-attr]
        if "refund" in question.lower():
            evaltrace.log_expectation(
                trace_id=trace.info.trace_id,
                name="key_information",
                value={"must_mention": ["30 days", "receipt"], "tone": "helpful"},
            )
    annotated = evaltrace.search_traces(
        filter_string="expectation.key_information IS NOT NULL", return_type="list"
    )
    usage = evaltrace.search_traces(max_results=3, return_type="list")
    print(
        f"{len(annotated)} annotated trace(s); tokens of the last 3 traces: "
        f"{[t.info.token_usage['total_tokens'] for t in usage if t.info.token_usage]}"
    )


if __name__ == "__main__":
    main()
