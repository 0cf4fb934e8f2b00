"""The reference's GenAI evaluation quickstart (its docs' "Evaluation Quickstart"), written as
its users write it, with only ``import mlflow`` changed: an OpenAI agent as ``predict_fn``,
a list of inputs and expectations, ``@scorer`` imported from ``mlflow.genai``, the built-in
``Correctness`` and ``Guidelines`` judges, ``mlflow.genai.evaluate``. Offline: the openai
client reaches evaltrace's OpenAI-compatible test server through ``OPENAI_BASE_URL``; against a
local store and against ``evaltrace server`` (the tracking server the quickstart starts)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evaltrace.evaluate.judges import JUDGE_MARKER
from evaltrace.testing import OpenAIServer
from tests.server.live import child_env, running_server

QUICKSTART = """
import os
import evaltrace as mlflow
from openai import OpenAI
from evaltrace.genai import scorer
from evaltrace.genai.scorers import Correctness, Guidelines

os.environ["OPENAI_API_KEY"] = "placeholder-key"
mlflow.set_experiment("GenAI Evaluation Quickstart")
client = OpenAI()


def my_agent(question: str) -> str:
    response = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[
            {"role": "system", "content": "Answer in a few words."},
            {"role": "user", "content": question},
        ],
    )
    return response.choices[0].message.content


def qa_predict_fn(question: str) -> str:
    return my_agent(question)


eval_dataset = [
    {"inputs": {"question": "Capital of France?"}, "expectations": {"expected_response": "Paris"}},
    {"inputs": {"question": "Who wrote Hamlet?"}, "expectations": {"expected_response": "Bard"}},
    {"inputs": {"question": "Largest planet?"}, "expectations": {"expected_response": "Jupiter"}},
]


@scorer
def is_concise(outputs: str) -> bool:
    return len(outputs.split()) <= 5


scorers = [
    Correctness(),
    Guidelines(name="is_english", guidelines="The answer must be in English"),
    is_concise,
]

if __name__ == "__main__":
    results = mlflow.genai.evaluate(data=eval_dataset, predict_fn=qa_predict_fn, scorers=scorers)
    print(sorted(results.metrics.items()))
"""

ANSWERS = {
    "Capital of France?": "Paris",
    "Who wrote Hamlet?": "The Bard",
    "Largest planet?": "It is hard to say which of the planets is the largest",
}


def _answer(body: dict[str, Any]) -> str | None:
    """The agent's answers (the last one wrong and long), and the judges' verdicts: correct when
    the answer holds the expected response; every answer is in English."""
    messages = body.get("messages") or [{}]
    if JUDGE_MARKER not in str(messages[0].get("content", "")):
        return ANSWERS.get(messages[-1].get("content", ""))
    prompt = messages[-1]["content"]
    good = "The answer must be in English" in prompt or any(
        answer in prompt for answer in ("Paris", "The Bard")
    )
    return json.dumps({"result": "yes" if good else "no", "rationale": "checked"})


@pytest.fixture
def openai_server() -> Iterator[OpenAIServer]:
    with OpenAIServer(responder=_answer) as server:
        yield server


@pytest.mark.parametrize("where", ["local store", "evaltrace server"])
def test_the_reference_quickstart_runs_with_only_the_import_changed(
    where: str, openai_server: OpenAIServer, tmp_path: Path
) -> None:
    script = tmp_path / "quickstart_eval.py"
    script.write_text(QUICKSTART)
    settings = {"OPENAI_BASE_URL": openai_server.base_url}
    if where == "local store":
        settings["EVALTRACE_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
        done = _run(script, tmp_path, settings)
    else:
        with running_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "spool") as url:
            done = _run(script, tmp_path, {**settings, "EVALTRACE_TRACKING_URI": url})
    assert done.returncode == 0, done.stderr
    metrics = dict(ast.literal_eval(done.stdout.strip().splitlines()[-1]))  # the printed items
    assert metrics["correctness/mean"] == pytest.approx(2 / 3)
    assert metrics["is_concise/mean"] == pytest.approx(2 / 3)
    assert metrics["is_english/mean"] == 1.0


def _run(script: Path, cwd: Path, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = child_env(cwd / "app-spool", **settings)
    env.pop("OPENAI_API_KEY", None)
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
