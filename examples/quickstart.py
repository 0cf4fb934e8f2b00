"""Trace a tiny support bot, then read its traces back. Runs offline, in a second.

    python examples/quickstart.py

Traces go to ``evaltrace.db`` in the current directory unless EVALTRACE_TRACKING_URI says
otherwise (for example ``postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

import evaltrace

KNOWLEDGE = {
    "refund": "Full refunds within 30 days with receipt.",
    "shipping": "Standard: 5-7 days. Express available.",
}


@evaltrace.trace(span_type=evaltrace.SpanType.RETRIEVER)
def retrieve(question: str) -> list[str]:
    return [text for key, text in KNOWLEDGE.items() if key in question.lower()]


@evaltrace.trace(span_type=evaltrace.SpanType.CHAIN)
def answer(question: str) -> str:
    docs = retrieve(question)
    evaltrace.update_current_trace(tags={"env": "demo"}, metadata={"user": "u1"})
    return docs[0] if docs else "Let me connect you with a human."


def main() -> None:
    evaltrace.set_experiment("support-bot")
    for question in ("What is your refund policy?", "How long does shipping take?", "Hello?"):
        print(f"{question!r} -> {answer(question)!r}")

    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    print(
        f"\nlast trace {trace.info.trace_id}: {trace.info.state.value}, "
        f"{len(trace.data.spans)} spans, {trace.info.execution_duration} ms"
    )
    for span in trace.data.spans:
        print(f"  {span.span_type:<10} {span.name:<10} inputs={span.inputs} outputs={span.outputs}")

    recent = evaltrace.search_traces(max_results=3, return_type="list")
    print(f"\n{len(recent)} most recent traces in experiment 'support-bot':")
    for found in recent:
        print(f"  {found.info.trace_id}  {found.info.request_preview}")


if __name__ == "__main__":
    main()
