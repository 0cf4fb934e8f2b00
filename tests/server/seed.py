"""Fill a store with what the server tests look at: ``python -m tests.server.seed URI`` prints
the ids it made as JSON. Run in its own process, so the server tests share one store per module.
"""

from __future__ import annotations

import json
import sys

import evaltrace
from evaltrace import SpanType
from evaltrace.datasets import create_dataset
from evaltrace.scorers import scorer

XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 1">'
ANSWERS = {"refund?": "30 days", "shipping?": "5 days", "hours?": "9 to 5"}


@evaltrace.trace
def answer(question: str, env: str) -> str:
    evaltrace.update_current_trace(tags={"env": env})
    with evaltrace.start_span("retrieve", span_type=SpanType.RETRIEVER) as span:
        span.set_inputs({"query": question})
        span.set_outputs([{"doc": "policy.md"}])
    return ANSWERS.get(question, "I do not know")


@evaltrace.trace(name="chat")
def chat(question: str, session_id: str | None = None) -> str:
    if session_id:
        evaltrace.update_current_trace(metadata={"mlflow.trace.session": session_id})
    with evaltrace.start_span("ChatCompletion", span_type=SpanType.CHAT_MODEL) as span:
        span.set_inputs(
            {
                "model": "gpt-4o-mini",
                "messages": [
                    {"role": "system", "content": "You are a shop assistant."},
                    {"role": "user", "content": question},
                ],
            }
        )
        span.set_outputs(
            {
                "choices": [
                    {
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [
                                {
                                    "type": "function",
                                    "function": {
                                        "name": "lookup_order",
                                        "arguments": '{"order": 42}',
                                    },
                                }
                            ],
                        }
                    }
                ]
            }
        )
    return f"answer to {question}"


@evaltrace.trace(name="failing")
def failing() -> None:
    raise ValueError("the model timed out")


@evaltrace.trace(name=XSS)
def hostile(text: str) -> str:
    evaltrace.update_current_trace(tags={"note": XSS})
    return XSS


def bot(question: str) -> str:
    return ANSWERS[question]


@scorer
def mentions_days(outputs: str) -> bool:
    return "days" in outputs


def main(uri: str) -> None:
    evaltrace.set_tracking_uri(uri)
    experiment = evaltrace.set_experiment("shop-bot")
    ids: dict[str, object] = {"experiment_id": experiment.experiment_id}
    for i in range(24):
        answer(list(ANSWERS)[i % 3], "prod" if i % 2 else "dev")
    chat("where is my order?")
    ids["chat"] = evaltrace.get_last_active_trace_id()
    for turn in ("hi", "where is order 42?", "thanks"):
        chat(turn, session_id="conv-1")
    try:
        failing()
    except ValueError:
        pass
    ids["failing"] = evaltrace.get_last_active_trace_id()
    hostile(XSS)
    ids["hostile"] = evaltrace.get_last_active_trace_id()
    evaltrace.flush()

    dataset = create_dataset("golden", tags={"team": "support"})
    dataset.merge_records(
        [
            {"inputs": {"question": q}, "expectations": {"expected_response": a}}
            for q, a in list(ANSWERS.items())[:2]
        ]
    )
    dataset.merge_records(
        [
            {"inputs": {"question": "refund?"}, "expectations": {"expected_response": "a month"}},
            {"inputs": {"question": "hours?"}, "expectations": {"expected_response": "9 to 5"}},
        ]
    )
    first = evaltrace.evaluate(
        data=dataset, predict_fn=bot, scorers=[mentions_days], model_id="bot"
    )
    ANSWERS["shipping?"] = "next week"
    ANSWERS["hours?"] = "9 to 5 days a week"
    second = evaltrace.evaluate(
        data=dataset, predict_fn=bot, scorers=[mentions_days], model_id="bot"
    )
    ids["run_a"], ids["run_b"] = first.run_id, second.run_id
    evaltrace.flush()
    print(json.dumps(ids))


if __name__ == "__main__":
    main(sys.argv[1])
