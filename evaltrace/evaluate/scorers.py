"""Scorers: functions of (inputs, outputs, expectations, trace) that judge one record.

A scorer takes any subset of those four by parameter name and returns a bool, a number, a
string, a Feedback or a list of Feedbacks. ``@scorer`` turns a function into one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from evaltrace._validation import require_json
from evaltrace.entities import AssessmentError, AssessmentSource, AssessmentSourceType, Feedback
from evaltrace.entities.assessment import DEFAULT_FEEDBACK_NAME, DEFAULT_SOURCE_ID
from evaltrace.exceptions import InvalidArgumentError

__all__ = ["NotJudged", "Score", "Scorer", "contains_all", "exact_match", "scorer"]

ARGUMENTS = ("inputs", "outputs", "expectations", "trace")


@dataclass(frozen=True, slots=True)
class Score:
    """One judgment produced by a scorer for one record, before it is logged as Feedback."""

    name: str
    value: Any = None
    rationale: str | None = None
    error: BaseException | None = None
    source: AssessmentSource | None = None

    def to_feedback(self) -> Feedback:
        """The judgment as the reference's scorers return it: a Feedback, not yet logged."""
        error = None
        if self.error is not None:
            message = str(self.error) or type(self.error).__name__
            error = AssessmentError(error_code=type(self.error).__name__, error_message=message)
        return Feedback(
            name=self.name,
            value=self.value,
            rationale=self.rationale,
            source=self.source,  # type: ignore[arg-type]  # None: the default source
            error=error,
        )


def _checked(score: Score) -> Score:
    """A value that cannot be stored (NaN, infinity, an object) is that scorer's error on that
    row: the rest of the run, and the other scorers' judgments, are kept."""
    try:
        require_json(score.value, "value")
    except InvalidArgumentError:
        problem = ValueError(f"scorer {score.name!r} returned {score.value!r}, not a JSON value")
        return Score(score.name, error=problem, source=score.source)
    return score


_PARAMETERS: dict[type[Scorer], tuple[str, ...]] = {}


def _call_parameters(kind: type[Scorer]) -> tuple[str, ...]:
    found = _PARAMETERS.get(kind)
    if found is None:
        found = ARGUMENTS
        if kind.__call__ is not Scorer.__call__:
            taken = inspect.signature(kind.__call__).parameters
            if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in taken.values()):
                found = tuple(name for name in ARGUMENTS if name in taken)
        _PARAMETERS[kind] = found
    return found


@dataclass(frozen=True, slots=True)
class NotJudged:
    """What a scorer returns when the record lacks what it judges against (an expectation):
    no score (not 0, not 1), with the reason as the rationale. Built-in scorers agree on it."""

    reason: str


class Scorer:
    """Base class of scorers. A subclass implements ``score(**arguments)`` or, as the
    reference's subclasses do, ``__call__(self, *, inputs, outputs, expectations, trace)``
    (any subset, by name); ``name`` names the metric: ``MyScorer(name="tone")``."""

    name: str = "scorer"
    _registration: Any = None  # a ScorerRegistration once registered (monitoring)

    def __init__(self, name: str | None = None, **_: Any) -> None:
        if name is not None:
            self.name = name

    # -- production monitoring (the reference's methods; each returns a new scorer) ----------
    # evaltrace.monitoring sits above this module: imported when called.

    def register(self, name: str | None = None, experiment_id: str | None = None) -> Scorer:
        """Store this scorer in the experiment for the monitor worker (stopped until
        ``start()``); registering a changed scorer under the same name makes a new version."""
        from evaltrace.monitoring import registry

        return registry.register(self, name, experiment_id)

    def start(
        self,
        name: str | None = None,
        sampling_config: Any = None,
        experiment_id: str | None = None,
    ) -> Scorer:
        """Judge live traces from now on (``ScorerSamplingConfig``: rate, filter, budget)."""
        from evaltrace.monitoring import registry

        return registry.start(self, name, sampling_config, experiment_id)

    def update(
        self,
        name: str | None = None,
        sampling_config: Any = None,
        experiment_id: str | None = None,
    ) -> Scorer:
        """Change the sampling of this registered scorer."""
        from evaltrace.monitoring import registry

        return registry.update(self, name, sampling_config, experiment_id)

    def stop(self, name: str | None = None, experiment_id: str | None = None) -> Scorer:
        """Stop judging live traces; results so far stay."""
        from evaltrace.monitoring import registry

        return registry.stop(self, name, experiment_id)

    @property
    def sample_rate(self) -> float | None:
        """The registered sampling rate (None: not registered)."""
        return None if self._registration is None else self._registration.sample_rate

    @property
    def filter_string(self) -> str | None:
        return None if self._registration is None else self._registration.filter_string

    @property
    def status(self) -> str:
        """``unregistered``, ``stopped`` or ``active``."""
        return "unregistered" if self._registration is None else self._registration.state

    @property
    def version(self) -> int | None:
        return None if self._registration is None else self._registration.version

    def source(self) -> AssessmentSource:
        return AssessmentSource(source_type=AssessmentSourceType.CODE, source_id=self.name)

    def parameters(self) -> tuple[str, ...]:
        """The arguments the scorer takes, read from its ``__call__`` when a subclass
        defines one (else all four); worked out once per class (it runs on every row)."""
        return _call_parameters(type(self))

    def score(self, **arguments: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} defines neither score() nor __call__()")

    def run(
        self,
        *,
        inputs: Any = None,
        outputs: Any = None,
        expectations: Any = None,
        trace: Any = None,
    ) -> Any:
        """Judge one record outside ``evaluate()`` (the reference's ``scorer.run``): the
        scorer's own result, or its exception."""
        given = {"inputs": inputs, "outputs": outputs, "expectations": expectations, "trace": trace}
        result = self(**{name: given[name] for name in self.parameters()})
        if isinstance(result, Feedback) and result.name in ("", DEFAULT_FEEDBACK_NAME):
            return replace(result, name=self.name)  # named after its scorer, as in evaluate()
        return result

    def judge(self, arguments: dict[str, Any]) -> list[Score]:
        """Call the scorer on one row; its exception becomes a Score with the error (the run
        goes on)."""
        try:
            result = self(**{name: arguments.get(name) for name in self.parameters()})
        except Exception as exc:  # a failing scorer is a finding about that row, not a crash
            return [Score(self.name, error=exc, source=self.source())]
        return [_checked(score) for score in self._scores(result)]

    def _scores(self, result: Any) -> list[Score]:
        if isinstance(result, Feedback):
            return [self._from_feedback(result)]
        if isinstance(result, list) and all(isinstance(item, Feedback) for item in result):
            return [self._from_feedback(item) for item in result]
        if isinstance(result, Score):
            return [result]
        if isinstance(result, NotJudged):
            return [
                Score(self.name, rationale=f"not judged: {result.reason}", source=self.source())
            ]
        return [Score(self.name, value=result, source=self.source())]

    def _from_feedback(self, feedback: Feedback) -> Score:
        error = None
        if feedback.error is not None:
            error = RuntimeError(feedback.error.error_message or feedback.error.error_code)
        unnamed = feedback.name in ("", DEFAULT_FEEDBACK_NAME)  # the constructor's default
        default_source = feedback.source.source_id == DEFAULT_SOURCE_ID
        return Score(
            self.name if unnamed else feedback.name,
            value=feedback.value,
            rationale=feedback.rationale,
            error=error,
            source=self.source() if default_source else feedback.source,
        )

    def __call__(self, **arguments: Any) -> Any:
        return self.score(**{name: arguments.get(name) for name in self.parameters()})

    def close(self) -> None:
        """Release what the scorer holds (a judge's HTTP client); it stays usable."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class _FunctionScorer(Scorer):
    def __init__(self, fn: Callable[..., Any], name: str | None) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        signature = inspect.signature(fn)
        unknown = [p for p in signature.parameters if p not in ARGUMENTS]
        if unknown:
            raise InvalidArgumentError(
                f"scorer {self.name!r}: parameter(s) {unknown} are not among {list(ARGUMENTS)}"
            )
        self._parameters = tuple(signature.parameters)

    def parameters(self) -> tuple[str, ...]:
        return self._parameters

    def score(self, **arguments: Any) -> Any:
        return self.fn(**arguments)


def scorer(func: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Make a scorer of a function taking any of ``inputs, outputs, expectations, trace``."""

    def wrap(fn: Callable[..., Any]) -> Scorer:
        return _FunctionScorer(fn, name)

    return wrap(func) if func is not None else wrap


@scorer
def exact_match(outputs: Any, expectations: dict[str, Any]) -> bool:
    """``outputs`` equals ``expectations["expected_response"]`` (strings compared stripped)."""
    if "expected_response" not in (expectations or {}):
        return NotJudged("the record has no expected_response")  # type: ignore[return-value]
    expected = expectations["expected_response"]
    if isinstance(outputs, str) and isinstance(expected, str):
        return outputs.strip() == expected.strip()
    return bool(outputs == expected)


@scorer
def contains_all(outputs: Any, expectations: dict[str, Any]) -> float:
    """The share of ``expectations["must_mention"]`` found in the output (case-insensitive).

    ``must_mention`` may also sit one level down (``{"key_information": {"must_mention": ...}}``).
    """
    expectations = expectations or {}
    terms = expectations.get("must_mention")
    if terms is None:
        for value in expectations.values():
            if isinstance(value, dict) and "must_mention" in value:
                terms = value["must_mention"]
                break
    if not terms:
        return NotJudged("the record has no must_mention")  # type: ignore[return-value]
    text = str(outputs).lower()
    return sum(1 for term in terms if str(term).lower() in text) / len(terms)
