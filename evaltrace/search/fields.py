"""``extract_fields`` specs: ``span_name.inputs``, ``span_name.outputs.field``, with
backquotes where a name holds dots (```my.span`.inputs.`a.b` ``), read as the reference reads
them: the span name runs to the first dot, the field name is the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evaltrace.exceptions import InvalidArgumentError

__all__ = ["FieldSpec", "parse_field"]

_PARTS = ("inputs", "outputs")


@dataclass(frozen=True, slots=True)
class FieldSpec:
    span_name: str
    part: str  # "inputs" or "outputs"
    key: str | None

    @property
    def column(self) -> str:
        """The DataFrame column's name (without backquotes)."""
        head = f"{self.span_name}.{self.part}"
        return head if self.key is None else f"{head}.{self.key}"

    def value_in(self, spans: Any) -> Any:
        """The value in the last span so named (None if there is none, or no such key)."""
        value = None
        for span in spans:
            if span.name == self.span_name:
                whole = span.inputs if self.part == "inputs" else span.outputs
                if self.key is None:
                    value = whole
                else:
                    value = whole.get(self.key) if isinstance(whole, dict) else None
        return value


def parse_field(text: str) -> FieldSpec:
    span_name, rest = _name(text, text, then_dot=True)
    part, dot, key_text = rest.partition(".")
    if part not in _PARTS:
        raise InvalidArgumentError(
            f"extract_fields: {text!r}: expected inputs or outputs after the span name, "
            f"got {part!r}"
        )
    if not dot:
        return FieldSpec(span_name, part, None)
    key, left = _name(key_text, text, then_dot=False)
    if left:
        raise InvalidArgumentError(f"extract_fields: {text!r}: text after the closing backquote")
    return FieldSpec(span_name, part, key)


def _name(text: str, whole: str, *, then_dot: bool) -> tuple[str, str]:
    """A name at the start of ``text`` (backquoted, or up to the first dot when ``then_dot``,
    else all of it) and what follows it (past the dot)."""
    if text.startswith("`"):
        end = text.find("`", 1)
        if end == -1:
            raise InvalidArgumentError(f"extract_fields: {whole!r}: a backquote is not closed")
        name, rest = text[1:end], text[end + 1 :]
    elif then_dot:
        name, dot, rest = text.partition(".")
        rest = dot + rest
    else:
        name, rest = text, ""
    if not name:
        raise InvalidArgumentError(f"extract_fields: {whole!r}: an empty name")
    if then_dot:
        if not rest.startswith("."):
            raise InvalidArgumentError(
                f"extract_fields: {whole!r}: expected a dot after the span name"
            )
        rest = rest[1:]
    return name, rest
