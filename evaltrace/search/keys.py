"""Which keys the filter language knows, their types and the comparators each accepts."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from evaltrace.entities.attribute_keys import RUN_TAG
from evaltrace.exceptions import InvalidFilterError
from evaltrace.search.ast import Key, KeyKind, Op

__all__ = [
    "DATASETS",
    "TRACES",
    "TRACE_FIELDS",
    "Catalogue",
    "KeyType",
    "TraceField",
    "allowed_ops",
    "key_type",
    "resolve_key",
]


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


@dataclass(frozen=True, slots=True)
class TraceField:
    """One searchable, sortable field of a trace: THE catalogue entry from which the filter
    keys (here), the filter SQL (store/filter_sql.py) and the sort keys (store/sql_store.py)
    are derived. ``column``: the traces table's column; ``sort_column``: another one that
    orders it better (the root span's start in ns for the ms timestamp: no ties)."""

    key: str  # attributes.<key>, the canonical name
    column: str
    type: str
    aliases: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()
    nullable: bool = True
    sort_column: str | None = None


TRACE_FIELDS = (
    TraceField("name", "name", KeyType.STRING),
    TraceField("status", "state", KeyType.ENUM, ("state",), enum=_TRACE_STATUS, nullable=False),
    TraceField(
        "timestamp_ms",
        "request_time",
        KeyType.NUMBER,
        ("timestamp", "request_time"),
        nullable=False,
        sort_column="start_time_ns",
    ),
    TraceField(
        "execution_time_ms",
        "execution_duration",
        KeyType.NUMBER,
        ("execution_duration", "execution_time"),
    ),
    TraceField("trace_id", "trace_id", KeyType.STRING, ("request_id",), nullable=False),
    TraceField("client_request_id", "client_request_id", KeyType.STRING),
    TraceField("input_tokens", "input_tokens", KeyType.NUMBER),
    TraceField("output_tokens", "output_tokens", KeyType.NUMBER),
    TraceField("total_tokens", "total_tokens", KeyType.NUMBER),
    TraceField("cost_usd", "cost_usd", KeyType.NUMBER),
)
TRACE_ATTRIBUTES = {
    name: _Column(field.key, field.type, field.enum)
    for field in TRACE_FIELDS
    for name in (field.key, *field.aliases)
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

EXPERIMENT_ATTRIBUTES = {
    "name": _Column("name", KeyType.STRING),
    "creation_time": _Column("creation_time", KeyType.NUMBER),
    "last_update_time": _Column("last_update_time", KeyType.NUMBER),
}
PROMPT_ATTRIBUTES = {
    "name": _Column("name", KeyType.STRING),
    "creation_time": _Column("creation_time", KeyType.NUMBER),
    "last_update_time": _Column("last_update_time", KeyType.NUMBER),
}


@dataclass(frozen=True, slots=True, eq=False)  # hashed by identity: parse results are cached
class Catalogue:
    """The keys one kind of object can be searched by."""

    attributes: dict[str, _Column]
    side_kinds: frozenset[KeyKind]
    spans: bool
    # Names that stand for a tag or metadata key (the reference's ``run_id``).
    mapped: dict[str, Key] = field(default_factory=dict)


TRACES = Catalogue(
    attributes=TRACE_ATTRIBUTES,
    side_kinds=frozenset({KeyKind.TAG, KeyKind.METADATA, KeyKind.EXPECTATION, KeyKind.FEEDBACK}),
    spans=True,
    mapped={"run_id": Key(KeyKind.TAG, RUN_TAG)},  # the evaluation run a trace was made in
)
DATASETS = Catalogue(
    attributes=DATASET_ATTRIBUTES, side_kinds=frozenset({KeyKind.TAG}), spans=False
)
EXPERIMENTS = Catalogue(
    attributes=EXPERIMENT_ATTRIBUTES, side_kinds=frozenset({KeyKind.TAG}), spans=False
)
PROMPTS = Catalogue(attributes=PROMPT_ATTRIBUTES, side_kinds=frozenset({KeyKind.TAG}), spans=False)

_ATTRIBUTE_PREFIXES = ("attributes", "attribute", "attr", "trace", "dataset")
_SIDE_PREFIXES = {
    "tags": KeyKind.TAG,
    "tag": KeyKind.TAG,
    "metadata": KeyKind.METADATA,
    "request_metadata": KeyKind.METADATA,  # the reference's name
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
    names = [f"attributes.{n}" for n in catalogue.attributes] + list(catalogue.mapped)
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
    named = parts[-1].lower() if len(parts) == 1 or head in _ATTRIBUTE_PREFIXES else None
    if named in catalogue.mapped and len(parts) <= 2:
        return catalogue.mapped[named]
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
            for c in (
                *TRACE_ATTRIBUTES.values(),
                *DATASET_ATTRIBUTES.values(),
                *EXPERIMENT_ATTRIBUTES.values(),
                *PROMPT_ATTRIBUTES.values(),
            )
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
