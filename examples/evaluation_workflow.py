"""Run the evaluation workflow of reference/003 end to end, offline by default.

    python examples/evaluation_workflow.py

The steps themselves are in ``_workflow_steps.py``, exactly as the reference document writes
them but for the imports. This script starts evaltrace's OpenAI-compatible test server, with a
responder that gives the LLM judges their verdicts, points the openai client at it through
OPENAI_BASE_URL, and runs the steps. (To use the real OpenAI, run ``_workflow_steps.py``
itself after putting your key where step 1 sets a placeholder, as the reference does.)
"""


def judge_verdicts(body):
    """The test server's answers to the judges: yes when the answer mentions the policy."""
    import json

    from evaltrace.evaluate.judges import JUDGE_MARKER

    messages = body.get("messages") or [{}]
    if JUDGE_MARKER not in str(messages[0].get("content", "")):
        return None
    question = messages[-1]["content"]
    good = any(fact in question for fact in ("30 days", "5-7 days", "1-year"))
    return json.dumps(
        {"result": "yes" if good else "no", "rationale": "mentions the policy" if good else "vague"}
    )


if __name__ == "__main__":
    import os
    import runpy

    from evaltrace.testing import OpenAIServer

    with OpenAIServer(responder=judge_verdicts) as server:
        os.environ["OPENAI_BASE_URL"] = server.base_url
        steps = runpy.run_path(__file__.replace("evaluation_workflow.py", "_workflow_steps.py"))
    print(
        "metrics v1:", {k: round(v, 3) for k, v in steps["metrics"].items() if k.endswith("/score")}
    )
    if "improved_results" in steps:
        print("improvement in factual_accuracy/score:", round(steps["improvement"], 3))
    print("rows scored below 0.8:", len(steps["low_scores"]))
