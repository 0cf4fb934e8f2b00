"""Assessments of a trace: ground truth (Expectation) and judgments (Feedback) stay two types."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar

__all__ = [
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "Expectation",
    "ExpectationValue",
    "Feedback",
    "FeedbackValue",
]


# What a Feedback / Expectation built alone gets (the reference's defaults): a scorer's result
# so built takes the scorer's name and source instead.
DEFAULT_FEEDBACK_NAME = "feedback"
DEFAULT_SOURCE_ID = "default"


class AssessmentSourceType(str, Enum):
    HUMAN = "HUMAN"
    LLM_JUDGE = "LLM_JUDGE"
    CODE = "CODE"


@dataclass(frozen=True, slots=True, kw_only=True)
class AssessmentSource:
    """Who or what made an assessment: a type and an id (a user name, a model, a function)."""

    source_type: AssessmentSourceType
    source_id: str | None = None

    def __post_init__(self) -> None:
        # Accept the plain strings users write; anything else is a typed error.
        if not isinstance(self.source_type, AssessmentSourceType):
            from evaltrace.exceptions import InvalidArgumentError

            try:
                object.__setattr__(
                    self, "source_type", AssessmentSourceType(str(self.source_type).upper())
                )
            except ValueError:
                known = ", ".join(t.value for t in AssessmentSourceType)
                raise InvalidArgumentError(
                    f"source_type must be one of {known}; got {self.source_type!r}"
                ) from None

    def to_dict(self) -> dict[str, Any]:
        return {"source_type": self.source_type.value, "source_id": self.source_id}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssessmentSource:
        return cls(source_type=data["source_type"], source_id=data.get("source_id"))


@dataclass(frozen=True, slots=True, kw_only=True)
class AssessmentError:
    """Why a feedback has no value (a judge that failed, say)."""

    error_code: str
    error_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "error_message": self.error_message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssessmentError:
        return cls(error_code=data["error_code"], error_message=data.get("error_message"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Assessment:
    """Fields shared by expectations and feedback. Times are in milliseconds since the epoch.

    ``valid`` is False once another assessment ``overrides`` this one: history is kept.
    """

    kind: ClassVar[str] = ""

    # Built as the reference builds them, ``Feedback(name="relevance", value=1.0)`` (a scorer's
    # result, or what ``log_assessment`` logs): ids and times are filled in when logged.
    assessment_id: str = ""
    trace_id: str = ""
    name: str = ""
    value: Any = None
    source: AssessmentSource = None  # type: ignore[assignment] # default set in __post_init__
    create_time_ms: int = 0
    last_update_time_ms: int = 0
    span_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    overrides: str | None = None
    valid: bool = True

    def __post_init__(self) -> None:
        if self.source is None:  # the reference's defaults: a person's ground truth, code's verdict
            default = (
                AssessmentSourceType.HUMAN
                if self.kind == "expectation"
                else AssessmentSourceType.CODE
            )
            object.__setattr__(
                self, "source", AssessmentSource(source_type=default, source_id=DEFAULT_SOURCE_ID)
            )
        if not self.create_time_ms:
            object.__setattr__(self, "create_time_ms", int(time.time() * 1000))
        if not self.last_update_time_ms:
            object.__setattr__(self, "last_update_time_ms", self.create_time_ms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "assessment_id": self.assessment_id,
            "trace_id": self.trace_id,
            "name": self.name,
            "value": self.value,
            "source": self.source.to_dict(),
            "create_time_ms": self.create_time_ms,
            "last_update_time_ms": self.last_update_time_ms,
            "span_id": self.span_id,
            "metadata": dict(self.metadata),
            "overrides": self.overrides,
            "valid": self.valid,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Assessment:
        common = {
            "assessment_id": data["assessment_id"],
            "trace_id": data["trace_id"],
            "name": data["name"],
            "value": data.get("value"),
            "source": AssessmentSource.from_dict(data["source"]),
            "create_time_ms": int(data["create_time_ms"]),
            "last_update_time_ms": int(data["last_update_time_ms"]),
            "span_id": data.get("span_id"),
            "metadata": dict(data.get("metadata") or {}),
            "overrides": data.get("overrides"),
            "valid": bool(data.get("valid", True)),
        }
        if data.get("kind") == Expectation.kind:
            return Expectation(**common)
        error = data.get("error")
        return Feedback(
            **common,
            rationale=data.get("rationale"),
            error=AssessmentError.from_dict(error) if error else None,
        )


@dataclass(frozen=True, slots=True)
class ExpectationValue:
    """An expectation's value, as the reference's ``Expectation.expectation`` gives it."""

    value: Any


@dataclass(frozen=True, slots=True)
class FeedbackValue:
    """A feedback's value or error, as the reference's ``Feedback.feedback`` gives them."""

    value: Any
    error: AssessmentError | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation(Assessment):
    """Ground truth: what the right output is, or must contain."""

    kind: ClassVar[str] = "expectation"

    def __post_init__(self) -> None:
        Assessment.__post_init__(self)
        if self.value is None:
            from evaltrace.exceptions import InvalidArgumentError

            raise InvalidArgumentError(
                f"the value of expectation {self.name!r} must be specified (got None)"
            )

    @property
    def expectation(self) -> ExpectationValue:
        return ExpectationValue(self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Feedback(Assessment):
    """A judgment of the output, with an optional rationale, or an error instead of a value."""

    kind: ClassVar[str] = "feedback"

    rationale: str | None = None
    error: AssessmentError | None = None

    def __post_init__(self) -> None:
        Assessment.__post_init__(self)
        if not self.name:
            object.__setattr__(self, "name", DEFAULT_FEEDBACK_NAME)
        if isinstance(self.error, BaseException):  # Feedback(error=exc), as the reference takes
            object.__setattr__(
                self,
                "error",
                AssessmentError(
                    error_code=type(self.error).__name__, error_message=str(self.error)
                ),
            )

    @property
    def feedback(self) -> FeedbackValue:
        return FeedbackValue(self.value, self.error)

    def to_dict(self) -> dict[str, Any]:
        data = Assessment.to_dict(self)
        data["rationale"] = self.rationale
        data["error"] = None if self.error is None else self.error.to_dict()
        return data
