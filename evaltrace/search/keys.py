"""Which keys the filter language knows, their types and the comparators each accepts."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from evaltrace.exceptions import InvalidFilterError
from evaltrace.search.ast import Key, KeyKind, Op

__all__ = ["DATASETS", "TRACES", "Catalogue", "KeyType", "allowed_ops", "key_type", "resolve_key"]


class KeyType:
    STRING = "string"
    NUMBER = "number"
    ENUM = "enum"
    JSON = "json"  # a JSON value: string, number, boolean, list or object


@dataclass(frozen=True, slots=True)
class _Column:
    canonical: str
    type: str
    enum: tuple[str, ...] = ()


_TRACE_STATUS = ("OK", "ERROR", "IN_PROGRESS")
_SPAN_STATUS = ("OK", "ERROR", "UNSET")

TRACE_ATTRIBUTES = {
    "name": _Column("name", KeyType.STRING),
    "status": _Column("status", KeyType.ENUM, _TRACE_STATUS),
    "state": _Column("status", KeyType.ENUM, _TRACE_STATUS),
    "timestamp_ms": _Column("timestamp_ms", KeyType.NUMBER),
    "timestamp": _Column("timestamp_ms", KeyType.NUMBER),
    "request_time": _Column("timestamp_ms", KeyType.NUMBER),
    "execution_time_ms": _Column("execution_time_ms", KeyType.NUMBER),
    "execution_duration": _Column("execution_time_ms", KeyType.NUMBER),
    "trace_id": _Column("trace_id", KeyType.STRING),
    "request_id": _Column("trace_id", KeyType.STRING),
    "client_request_id": _Column("client_request_id", KeyType.STRING),
    "input_tokens": _Column("input_tokens", KeyType.NUMBER),
    "output_tokens": _Column("output_tokens", KeyType.NUMBER),
    "total_tokens": _Column("total_tokens", KeyType.NUMBER),
    "cost_usd": _Column("cost_usd", KeyType.NUMBER),
}
SPAN_COLUMNS = {
    "name": _Column("name", KeyType.STRING),
    "type": _Column("type", KeyType.STRING),
    "span_type": _Column("type", KeyType.STRING),
    "status": _Column("status", KeyType.ENUM, _SPAN_STATUS),
    "duration_ns": _Column("duration_ns", KeyType.NUMBER),
}
DATASET_ATTRIBUTES = {
    "name": _Column("name", KeyType.STRING),
    "dataset_id": _Column("dataset_id", KeyType.STRING),
    "created_time": _Column("created_time", KeyType.NUMBER),
    "last_update_time": _Column("last_update_time", KeyType.NUMBER),
}


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: parse results are cached
class Catalogue:
    """The keys one kind of object can be searched by."""

    attributes: dict[str, _Column]
    side_kinds: frozenset[KeyKind]
    spans: bool


TRACES = Catalogue(
    attributes=TRACE_ATTRIBUTES,
    side_kinds=frozenset({KeyKind.TAG, KeyKind.METADATA, KeyKind.EXPECTATION, KeyKind.FEEDBACK}),
    spans=True,
)
DATASETS = Catalogue(
    attributes=DATASET_ATTRIBUTES, side_kinds=frozenset({KeyKind.TAG}), spans=False
)

_ATTRIBUTE_PREFIXES = ("attributes", "attribute", "attr", "trace", "dataset")
_SIDE_PREFIXES = {
    "tags": KeyKind.TAG,
    "tag": KeyKind.TAG,
    "metadata": KeyKind.METADATA,
    "expectation": KeyKind.EXPECTATION,
    "expectations": KeyKind.EXPECTATION,
    "feedback": KeyKind.FEEDBACK,
    "feedbacks": KeyKind.FEEDBACK,
}

_OPS_BY_TYPE = {
    KeyType.STRING: frozenset(Op),
    KeyType.NUMBER: frozenset(Op) - {Op.LIKE, Op.ILIKE},
    KeyType.ENUM: frozenset({Op.EQ, Op.NE, Op.IN, Op.NOT_IN}),
    KeyType.JSON: frozenset(Op),
}


def _known_keys(catalogue: Catalogue) -> list[str]:
    names = [f"attributes.{n}" for n in catalogue.attributes]
    names += [
        f"{k.value if k is not KeyKind.TAG else 'tags'}.<key>" for k in sorted(catalogue.side_kinds)
    ]
    if catalogue.spans:
        names += [f"span.{n}" for n in SPAN_COLUMNS] + ["span.attributes.<key>"]
    return names


def _unknown(raw: str, position: int, catalogue: Catalogue) -> InvalidFilterError:
    known = _known_keys(catalogue)
    candidates = [k.split("<")[0] for k in known]
    guess = difflib.get_close_matches(raw, candidates, n=1, cutoff=0.6)
    hint = f"; did you mean '{guess[0]}'?" if guess else f"; known keys: {', '.join(known)}"
    return InvalidFilterError(f"unknown key '{raw}' at {position}{hint}", position=position)


def resolve_key(
    parts: tuple[str, ...], raw: str, position: int, catalogue: Catalogue = TRACES
) -> Key:
    """The canonical key for an identifier such as ``attributes.status`` or ``tags.`a.b```."""
    head = parts[0].lower()
    attributes = catalogue.attributes
    if len(parts) == 1:
        column = attributes.get(head)
        if column is None:
            raise _unknown(raw, position, catalogue)
        return Key(KeyKind.ATTRIBUTE, column.canonical)
    rest = ".".join(parts[1:])
    if head in _ATTRIBUTE_PREFIXES:
        column = attributes.get(rest.lower())
        if column is None:
            raise _unknown(raw, position, catalogue)
        return Key(KeyKind.ATTRIBUTE, column.canonical)
    if head in _SIDE_PREFIXES and _SIDE_PREFIXES[head] in catalogue.side_kinds:
        return Key(_SIDE_PREFIXES[head], rest)
    if head in ("span", "spans") and catalogue.spans:
        if parts[1].lower() in ("attributes", "attribute") and len(parts) > 2:
            return Key(KeyKind.SPAN_ATTRIBUTE, ".".join(parts[2:]))
        column = SPAN_COLUMNS.get(rest.lower())
        if column is None:
            raise _unknown(raw, position, catalogue)
        return Key(KeyKind.SPAN, column.canonical)
    raise _unknown(raw, position, catalogue)


def key_type(key: Key) -> tuple[str, tuple[str, ...]]:
    """The key's value type and, for enums, the allowed values."""
    if key.kind is KeyKind.ATTRIBUTE:
        column = next(
            c
            for c in (*TRACE_ATTRIBUTES.values(), *DATASET_ATTRIBUTES.values())
            if c.canonical == key.name
        )
        return column.type, column.enum
    if key.kind is KeyKind.SPAN:
        column = next(c for c in SPAN_COLUMNS.values() if c.canonical == key.name)
        return column.type, column.enum
    if key.kind in (KeyKind.TAG, KeyKind.METADATA):
        return KeyType.STRING, ()
    return KeyType.JSON, ()


def allowed_ops(key: Key) -> frozenset[Op]:
    return _OPS_BY_TYPE[key_type(key)[0]]
