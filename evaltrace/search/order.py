"""``order_by`` clauses: ``["attributes.timestamp_ms DESC", "tags.env"]``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evaltrace._validation import shown
from evaltrace.exceptions import InvalidFilterError
from evaltrace.search.ast import Key, KeyKind
from evaltrace.search.keys import TRACES, Catalogue, resolve_key
from evaltrace.search.lexer import TokenType, tokenize

__all__ = ["OrderKey", "parse_order_by"]

_ORDERABLE = (KeyKind.ATTRIBUTE, KeyKind.TAG, KeyKind.METADATA)


@dataclass(frozen=True, slots=True)
class OrderKey:
    key: Key
    descending: bool = False

    def __str__(self) -> str:
        return f"{self.key} {'DESC' if self.descending else 'ASC'}"


MAX_ORDER_KEYS = 20  # each is a join: SQLite refuses a few dozen


def parse_order_by(
    clauses: Sequence[str] | None, catalogue: Catalogue = TRACES
) -> tuple[OrderKey, ...]:
    if clauses is None:
        return ()
    if (
        isinstance(clauses, (str, bytes))
        or not isinstance(clauses, Sequence)
        or not all(isinstance(c, str) for c in clauses)
    ):
        raise InvalidFilterError(f"order_by must be a list of strings, got {shown(clauses)}")
    if len(clauses) > MAX_ORDER_KEYS:
        raise InvalidFilterError(
            f"order_by has {len(clauses)} keys; at most {MAX_ORDER_KEYS} are allowed"
        )
    return tuple(_parse_clause(clause, catalogue) for clause in clauses)


def _parse_clause(clause: str, catalogue: Catalogue) -> OrderKey:
    tokens = tokenize(clause)
    first = tokens[0]
    if first.type is not TokenType.IDENT:
        raise InvalidFilterError(
            f"order_by {clause!r}: expected a key at {first.position}", position=first.position
        )
    key = resolve_key(first.parts, str(first.value), first.position, catalogue)
    if key.kind not in _ORDERABLE:
        raise InvalidFilterError(
            f"order_by {clause!r}: cannot order by {key}; use attributes.*, tags.* or metadata.*",
            position=first.position,
        )
    rest = tokens[1:-1]
    if not rest:
        return OrderKey(key)
    if len(rest) == 1 and rest[0].word in ("ASC", "DESC"):
        return OrderKey(key, descending=rest[0].word == "DESC")
    raise InvalidFilterError(
        f"order_by {clause!r}: expected ASC or DESC at {rest[0].position}",
        position=rest[0].position,
    )
