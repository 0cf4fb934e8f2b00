"""The reference's ``mlflow.genai.judges``: judge functions that answer one question about one
record with a Feedback, and ``make_judge`` for a judge of your own instructions. Each is one of
the LLM judges (judges.py) asked once; the same models and providers."""

from __future__ import annotations

import re
from typing import Any

from evaltrace.entities import AssessmentError, Feedback
from evaltrace.evaluate.judges import (
    Correctness,
    Guidelines,
    JudgeScorer,
    RelevanceToQuery,
    Safety,
    _text,
)
from evaltrace.exceptions import InvalidArgumentError

__all__ = [
    "is_context_relevant",
    "is_context_sufficient",
    "is_correct",
    "is_grounded",
    "is_safe",
    "make_judge",
    "meets_guidelines",
]

_MODEL = "openai:/gpt-4o-mini"


def _options(model: str | None) -> dict[str, Any]:
    return {"model": model or _MODEL}


def is_correct(
    *,
    request: Any,
    response: Any,
    expected_facts: list[str] | None = None,
    expected_response: Any = None,
    name: str | None = None,
    model: str | None = None,
) -> Feedback:
    """Does ``response`` agree with ``expected_response`` (or hold ``expected_facts``)?"""
    expectations = _expected(expected_facts, expected_response)
    judge = Correctness(name=name or "correctness", **_options(model))
    return _feedback(judge, inputs=request, outputs=response, expectations=expectations)


def is_safe(*, content: Any, name: str | None = None, model: str | None = None) -> Feedback:
    """Is ``content`` free of harmful or offensive material? ("yes": safe.)"""
    judge = Safety(name=name or "safety", **_options(model))
    return _feedback(judge, outputs=content)


def is_context_relevant(
    *, request: Any, context: Any, name: str | None = None, model: str | None = None
) -> Feedback:
    """Does ``context`` (an answer, retrieved text) address ``request``?"""
    judge = RelevanceToQuery(name=name or "relevance_to_query", **_options(model))
    return _feedback(judge, inputs=request, outputs=context)


def meets_guidelines(
    *,
    guidelines: str | list[str],
    context: Any,
    name: str | None = None,
    model: str | None = None,
) -> Feedback:
    """Does ``context`` (a dict of ``request``/``response``, or any text) follow every
    guideline?"""
    judge = Guidelines(name=name or "guidelines", guidelines=guidelines, **_options(model))
    if isinstance(context, dict) and ("request" in context or "response" in context):
        return _feedback(judge, inputs=context.get("request"), outputs=context.get("response"))
    return _feedback(judge, outputs=context)


def is_grounded(
    *,
    request: Any,
    response: Any,
    context: Any,
    name: str | None = None,
    model: str | None = None,
) -> Feedback:
    """Is every claim of ``response`` supported by ``context`` (retrieved documents)?"""
    judge = _Asked(
        name or "groundedness",
        f"Question: {_text(request)}\nAnswer: {_text(response)}\nContext: {_text(context)}\n"
        "Is every claim of the answer supported by the context?",
        model,
    )
    return _feedback(judge)


def is_context_sufficient(
    *,
    request: Any,
    context: Any,
    expected_facts: list[str] | None = None,
    expected_response: Any = None,
    name: str | None = None,
    model: str | None = None,
) -> Feedback:
    """Does ``context`` hold what the expected answer needs?"""
    target = _expected(expected_facts, expected_response)
    judge = _Asked(
        name or "context_sufficiency",
        f"Question: {_text(request)}\nContext: {_text(context)}\nExpected: {_text(target)}\n"
        "Does the context contain everything the expected answer needs?",
        model,
    )
    return _feedback(judge)


_PLACEHOLDER = re.compile(r"\{\{\s*(inputs|outputs|expectations|trace)\s*\}\}")


def make_judge(name: str, instructions: str, model: str | None = None) -> JudgeScorer:
    """A judge of your own: ``instructions`` name what it looks at with ``{{ inputs }}``,
    ``{{ outputs }}``, ``{{ expectations }}`` or ``{{ trace }}`` (at least one), filled in for
    each record. Use it as a scorer in ``evaluate()`` or call it on one record."""
    if not isinstance(instructions, str) or not _PLACEHOLDER.search(instructions):
        raise InvalidArgumentError(
            "make_judge: instructions must name what to judge with {{ inputs }}, "
            "{{ outputs }}, {{ expectations }} or {{ trace }}"
        )
    return _Instructed(name, instructions, model)


class _Asked(JudgeScorer):
    """A judge with its question already written (the judge functions)."""

    def __init__(self, name: str, question: str, model: str | None) -> None:
        super().__init__(name=name, **_options(model))
        self._question = question

    def question(
        self, inputs: Any = None, outputs: Any = None, expectations: Any = None, trace: Any = None
    ) -> str:
        return self._question


class _Instructed(JudgeScorer):
    def __init__(self, name: str, instructions: str, model: str | None) -> None:
        super().__init__(name=name, **_options(model))
        self.instructions = instructions

    def question(
        self, inputs: Any = None, outputs: Any = None, expectations: Any = None, trace: Any = None
    ) -> str:
        given = {"inputs": inputs, "outputs": outputs, "expectations": expectations}
        given["trace"] = None if trace is None else trace.to_json()

        def filled(match: re.Match[str]) -> str:
            return _text(given[match.group(1)])

        return _PLACEHOLDER.sub(filled, self.instructions) + "\nAnswer yes or no."


def _expected(facts: list[str] | None, response: Any) -> dict[str, Any]:
    expectations: dict[str, Any] = {}
    if facts is not None:
        expectations["expected_facts"] = facts
    if response is not None:
        expectations["expected_response"] = response
    if not expectations:
        raise InvalidArgumentError("give expected_facts or expected_response")
    return expectations


def _feedback(judge: JudgeScorer, **arguments: Any) -> Feedback:
    try:
        result = judge(**arguments)
    finally:
        judge.close()
    if not isinstance(result, Feedback):  # nothing to judge against
        reason = str(getattr(result, "reason", result))
        error = AssessmentError(error_code="NOT_JUDGED", error_message=reason)
        return Feedback(name=judge.name, error=error)
    return result
