"""The prompt registry, on SQLite, PostgreSQL and through a server: immutable versions, aliases
that move, chat templates, typed errors, concurrent registrations, lineage into traces."""

from __future__ import annotations

import json
import threading

import pytest

import evaltrace as mlflow
from evaltrace.exceptions import InvalidArgumentError, NotFoundError
from tests.conftest import ALL_STORE_KINDS

STORE_KINDS = ALL_STORE_KINDS


def test_versions_aliases_and_formatting(store_uri: str) -> None:
    first = mlflow.register_prompt(
        "support", "Answer {{question}} politely.", commit_message="v1", tags={"team": "cx"}
    )
    second = mlflow.register_prompt("support", "Answer {{ question }} in {{language}}.")
    assert (first.version, second.version) == (1, 2)
    assert second.uri == "prompts:/support/2" and second.variables == {"question", "language"}
    assert mlflow.load_prompt("prompts:/support/1").template == "Answer {{question}} politely."
    assert mlflow.load_prompt("support").version == 2  # the latest
    assert mlflow.load_prompt("prompts:/support@latest").version == 2
    assert mlflow.load_prompt("prompts:/support").version == 2  # no version: the latest
    assert mlflow.load_prompt("support", version=1).commit_message == "v1"

    mlflow.set_prompt_alias("support", "production", 1)
    assert mlflow.load_prompt("prompts:/support@production").version == 1
    mlflow.set_prompt_alias("support", "production", 2)  # moved: this process sees it at once
    production = mlflow.load_prompt("prompts:/support@production")
    assert production.version == 2 and production.aliases == ("production",)
    assert second.format(question="refunds", language="French") == "Answer refunds in French."
    with pytest.raises(InvalidArgumentError, match="needs language \\(given: question\\)"):
        second.format(question="refunds")
    mlflow.delete_prompt_alias("support", "production")
    with pytest.raises(NotFoundError, match="has no alias 'production'"):
        mlflow.load_prompt("prompts:/support@production")
    assert mlflow.load_prompt("prompts:/support@production", allow_missing=True) is None

    mlflow.set_prompt_version_tag("support", 1, "reviewed", True)
    assert mlflow.load_prompt("support", version=1).tags == {"reviewed": "True"}
    (prompt,) = mlflow.search_prompts(filter_string="tags.team = 'cx'")
    assert (prompt.name, prompt.latest_version) == ("support", 2)
    assert mlflow.search_prompts(filter_string="name LIKE 'sup%'")[0].name == "support"
    for bad, message in (
        (lambda: mlflow.load_prompt("prompts:/support/9"), "version 9 not found"),
        (lambda: mlflow.load_prompt("prompts:support/1"), "letters, digits"),
        (lambda: mlflow.load_prompt("missing"), "prompt 'missing' not found"),
        (lambda: mlflow.register_prompt("bad name", "x"), "letters, digits"),
        (lambda: mlflow.register_prompt("chat", [{"content": "x"}]), "list of messages"),
        (lambda: mlflow.set_prompt_alias("support", "latest", 1), "'latest' is not an alias"),
        (lambda: mlflow.set_prompt_alias("support", "prod", 0), "positive integer"),
    ):
        with pytest.raises((InvalidArgumentError, NotFoundError), match=message):
            bad()


def test_a_chat_template_and_lineage_into_the_trace(store_uri: str) -> None:
    chat = mlflow.register_prompt(
        "assistant",
        [
            {"role": "system", "content": "You help with {{topic}}."},
            {"role": "user", "content": "{{question}}"},
        ],
        model_config={"temperature": 0.2},
    )
    assert chat.format(topic="refunds", question="How long?") == [
        {"role": "system", "content": "You help with refunds."},
        {"role": "user", "content": "How long?"},
    ]

    @mlflow.trace
    def answer(question: str) -> str:
        prompt = mlflow.load_prompt("prompts:/assistant/1")
        mlflow.load_prompt("prompts:/assistant/1")  # twice: linked once
        return str(prompt.format(topic="refunds", question=question)[1]["content"])

    assert answer("How long?") == "How long?"
    mlflow.flush()
    trace = mlflow.get_trace(mlflow.get_last_active_trace_id())
    assert json.loads(trace.info.tags["mlflow.linkedPrompts"]) == [
        {"name": "assistant", "version": "1"}
    ]
    assert trace.data.spans[0].attributes["evaltrace.prompt.assistant"] == 1
    assert mlflow.load_prompt("assistant").model_config == {"temperature": 0.2}


def test_concurrent_registrations_never_share_a_version(store_uri: str) -> None:
    mlflow.register_prompt("busy", "v0")
    numbers: list[int] = []
    errors: list[Exception] = []

    def register(i: int) -> None:
        try:
            numbers.append(mlflow.register_prompt("busy", f"v{i}").version)
        except Exception as exc:  # a failure must show in the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == list(range(2, 10))
