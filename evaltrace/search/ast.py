"""The filter AST: frozen values, no SQL. The store compiles them; tests evaluate them in Python."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Union

__all__ = [
    "And",
    "Comparison",
    "Expr",
    "Key",
    "KeyKind",
    "Literal",
    "Not",
    "Op",
    "Or",
    "SpanGroup",
]

Literal = Union[str, int, float, bool, None, tuple]  # tuple: the values of IN / NOT IN


class KeyKind(str, Enum):
    ATTRIBUTE = "attribute"  # a column of the trace: name, status, timestamp_ms, ...
    TAG = "tag"
    METADATA = "metadata"
    SPAN = "span"  # a column of a span: name, type, status, duration_ns
    SPAN_ATTRIBUTE = "span_attribute"
    EXPECTATION = "expectation"
    FEEDBACK = "feedback"


class Op(str, Enum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    LIKE = "LIKE"
    ILIKE = "ILIKE"
    IN = "IN"
    NOT_IN = "NOT IN"
    IS_NULL = "IS NULL"
    IS_NOT_NULL = "IS NOT NULL"


@dataclass(frozen=True, slots=True)
class Key:
    kind: KeyKind
    name: str  # canonical: "timestamp_ms", "env", "duration_ns", ...

    def __str__(self) -> str:
        prefix = {
            KeyKind.ATTRIBUTE: "attributes",
            KeyKind.TAG: "tags",
            KeyKind.METADATA: "metadata",
            KeyKind.SPAN: "span",
            KeyKind.SPAN_ATTRIBUTE: "span.attributes",
            KeyKind.EXPECTATION: "expectation",
            KeyKind.FEEDBACK: "feedback",
        }[self.kind]
        name = self.name if self.name.replace("_", "").isalnum() else f"`{self.name}`"
        return f"{prefix}.{name}"


@dataclass(frozen=True, slots=True)
class Comparison:
    key: Key
    op: Op
    value: Literal = None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Expr


@dataclass(frozen=True, slots=True)
class SpanGroup:
    """``span(...)``: every condition inside must hold for one and the same span."""

    condition: Expr


Expr = Union[Comparison, And, Or, Not, SpanGroup]
