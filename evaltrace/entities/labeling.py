"""Label schemas (what a reviewer is asked, and the answers allowed) and labeling items.

The input types check an answer and say what is wrong with it: a labeling session refuses an
answer outside its schema before anything is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from evaltrace.entities.assessment import Assessment
from evaltrace.exceptions import InvalidArgumentError

__all__ = [
    "BUILTIN_SCHEMAS",
    "InputCategorical",
    "InputCategoricalList",
    "InputNumeric",
    "InputText",
    "InputTextList",
    "LabelSchema",
    "LabelingItem",
    "input_from_dict",
]

LabelSchemaType = Literal["feedback", "expectation"]


def _text(value: Any, where: str, max_length: int | None) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{where} must be text, got {type(value).__name__}")
    if max_length is not None and len(value) > max_length:
        raise InvalidArgumentError(
            f"{where} is {len(value)} characters long; at most {max_length} allowed"
        )
    return value


@dataclass(frozen=True, slots=True)
class InputCategorical:
    """One option out of ``options``."""

    options: list[str]

    def check(self, value: Any, where: str) -> Any:
        if value not in self.options:
            raise InvalidArgumentError(
                f"{where} must be one of {', '.join(map(repr, self.options))}; got {value!r}"
            )
        return value

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "categorical", "options": list(self.options)}


@dataclass(frozen=True, slots=True)
class InputCategoricalList:
    """Any of ``options`` (a list, no repeats)."""

    options: list[str]

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise InvalidArgumentError(f"{where} must be a list of options, got {value!r}")
        unknown = [v for v in value if v not in self.options]
        if unknown or len(set(map(str, value))) != len(value):
            raise InvalidArgumentError(
                f"{where}: each of {', '.join(map(repr, self.options))} at most once; got {value!r}"
            )
        return value

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "categorical_list", "options": list(self.options)}


@dataclass(frozen=True, slots=True)
class InputNumeric:
    min_value: float | None = None
    max_value: float | None = None

    def check(self, value: Any, where: str) -> Any:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise InvalidArgumentError(f"{where} must be a number, got {value!r}")
        if (self.min_value is not None and value < self.min_value) or (
            self.max_value is not None and value > self.max_value
        ):
            raise InvalidArgumentError(
                f"{where} must be between {self.min_value} and {self.max_value}; got {value}"
            )
        return value

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "numeric", "min_value": self.min_value, "max_value": self.max_value}


@dataclass(frozen=True, slots=True)
class InputText:
    max_length: int | None = None

    def check(self, value: Any, where: str) -> Any:
        return _text(value, where, self.max_length)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "text", "max_length": self.max_length}


@dataclass(frozen=True, slots=True)
class InputTextList:
    max_count: int | None = None
    max_length_each: int | None = None

    def check(self, value: Any, where: str) -> Any:
        if not isinstance(value, list):
            raise InvalidArgumentError(f"{where} must be a list of texts, got {value!r}")
        if self.max_count is not None and len(value) > self.max_count:
            raise InvalidArgumentError(
                f"{where} has {len(value)} entries; at most {self.max_count} allowed"
            )
        return [_text(v, f"{where}[{i}]", self.max_length_each) for i, v in enumerate(value)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "text_list",
            "max_count": self.max_count,
            "max_length_each": self.max_length_each,
        }


Input = InputCategorical | InputCategoricalList | InputNumeric | InputText | InputTextList


def input_from_dict(data: dict[str, Any]) -> Input:
    kind = data.get("kind")
    if kind == "categorical":
        return InputCategorical(options=list(data["options"]))
    if kind == "categorical_list":
        return InputCategoricalList(options=list(data["options"]))
    if kind == "numeric":
        return InputNumeric(min_value=data.get("min_value"), max_value=data.get("max_value"))
    if kind == "text":
        return InputText(max_length=data.get("max_length"))
    if kind == "text_list":
        return InputTextList(
            max_count=data.get("max_count"), max_length_each=data.get("max_length_each")
        )
    raise InvalidArgumentError(f"unknown label input kind {kind!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelSchema:
    """A question for reviewers: its answer becomes a Feedback or an Expectation named
    ``name`` on the trace."""

    name: str
    type: LabelSchemaType
    title: str
    input: Input
    instruction: str | None = None
    enable_comment: bool = False

    def check(self, value: Any) -> Any:
        return self.input.check(value, f"label {self.name!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "title": self.title,
            "input": self.input.to_dict(),
            "instruction": self.instruction,
            "enable_comment": self.enable_comment,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelSchema:
        return cls(
            name=data["name"],
            type=data["type"],
            title=data["title"],
            input=input_from_dict(data["input"]),
            instruction=data.get("instruction"),
            enable_comment=bool(data.get("enable_comment")),
        )


# The reference's built-in schemas: always available, never stored.
BUILTIN_SCHEMAS = {
    schema.name: schema
    for schema in (
        LabelSchema(
            name="expected_response",
            type="expectation",
            title="The response the application should have given",
            input=InputText(),
        ),
        LabelSchema(
            name="expected_facts",
            type="expectation",
            title="Facts a correct response states",
            input=InputTextList(),
        ),
        LabelSchema(
            name="guidelines",
            type="expectation",
            title="Guidelines a correct response follows",
            input=InputTextList(),
        ),
    )
}


@dataclass(frozen=True, slots=True, kw_only=True)
class LabelingItem:
    """One trace in a labeling session, with where it stands and the labels given so far."""

    item_id: str
    trace_id: str
    state: Literal["pending", "in_progress", "completed", "skipped"]
    reviewers: list[str] = field(default_factory=list)  # who labeled it
    labels: list[Assessment] = field(default_factory=list)  # their valid labels
