"""Turn any Python value into JSON text, without ever raising.

The fast path is ``json.dumps`` with a ``default`` hook for common non-JSON types. Values it
cannot handle (cycles, NaN, non-string keys, very deep nesting) take a slower path that
rebuilds a JSON-safe copy. Text longer than the payload cap is cut, with a marker that says how
much was removed.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["TRUNCATION_MARKER", "attribute_value", "to_json"]

TRUNCATION_MARKER = "[evaltrace: truncated"
_encode_str = json.encoder.encode_basestring  # type: ignore[attr-defined]  # the C version
_SCALARS: dict[Any, str] = {True: "true", False: "false", None: "null"}
_MAX_DEPTH = 100


def to_json(value: Any, max_chars: int) -> str:
    """JSON text for ``value``, at most about ``max_chars`` characters long."""
    kind = type(value)
    # Fast paths for the common scalars: this runs on the application's thread.
    if kind is str:
        text = _encode_str(value)
    elif kind is int or kind is bool or value is None:
        text = _SCALARS.get(value) if kind is not int else str(value)  # type: ignore[assignment]
    else:
        try:
            text = _ENCODER.encode(value)
        except (ValueError, TypeError, RecursionError):
            text = _STRICT.encode(_sanitize(value, set(), 0))
    if len(text) > max_chars:
        return _truncate(text, max_chars)
    return text


_LONGEST_NUMBER = 32  # characters: a 64-bit integer's or a float's JSON text is shorter


def attribute_value(value: Any, max_chars: int) -> tuple[Any, bool]:
    """``value`` as set on an OpenTelemetry span, and whether that is JSON text: strings,
    booleans, 64-bit integers and finite floats as they are, anything else as its JSON."""
    kind = type(value)
    if kind is str:
        if len(value) <= max_chars:
            return value, False
    elif (
        kind is bool
        or (kind is int and -(2**63) <= value < 2**63)
        or (kind is float and math.isfinite(value))
    ):
        return value, False
    return to_json(value, max_chars), True


def _truncate(text: str, max_chars: int) -> str:
    """``text`` cut to about ``max_chars``: a dict or list keeps its shape, with its longest
    strings cut (``rag(question, context)`` keeps ``question`` whole); what cannot be made to
    fit that way (a string, or thousands of short values) becomes one cut string."""
    if text[:1] in "{[":
        shaped = _cut_longest_strings(text, max_chars)
        if shaped is not None:
            return shaped
    return json.dumps(_cut(text, max_chars), ensure_ascii=False)


def _cut(text: str, keep: int) -> str:
    return f"{text[:keep]}... {TRUNCATION_MARKER} {len(text) - keep} of {len(text)} characters]"


_MARKER_CHARS = len(_cut("x" * 10**7, 10**6)) - 10**6  # what a cut adds, at its longest
_SHORTEST_CUT = 100  # strings are not cut shorter than this: past it, the shape goes


def _cut_longest_strings(text: str, max_chars: int) -> str | None:
    value = json.loads(text)
    lengths = sorted((len(s) for s in _strings(value)), reverse=True)
    excess = len(text) - max_chars
    # The largest length ``keep`` such that cutting every longer string to it saves enough.
    shortest = min(_SHORTEST_CUT, max_chars // 10)
    low, high = shortest, lengths[0] if lengths else 0
    if _saved(lengths, low) < excess:
        return None
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if _saved(lengths, middle) >= excess else (low, middle - 1)
    for keep in (low, low // 2, low // 8):  # JSON escapes can make the first guess short
        if keep < shortest:
            break
        shaped = _STRICT.encode(_cut_strings(value, keep))
        if len(shaped) <= max_chars:
            return shaped
    return None


def _saved(lengths: list[int], keep: int) -> int:
    saved = 0
    for length in lengths:  # longest first
        if length <= keep + _MARKER_CHARS:
            break
        saved += length - keep - _MARKER_CHARS
    return saved


def _strings(value: Any) -> Any:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _cut_strings(value: Any, keep: int) -> Any:
    if isinstance(value, str):
        return _cut(value, keep) if len(value) > keep + _MARKER_CHARS else value
    if isinstance(value, dict):
        return {key: _cut_strings(item, keep) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut_strings(item, keep) for item in value]
    return value


def _default(value: Any) -> Any:
    """Called by json.dumps for values it does not know; returns something it does."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    model_dump = getattr(value, "model_dump", None)  # pydantic v2
    if callable(model_dump) and not isinstance(value, type):
        return model_dump(mode="json")
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value)
        except TypeError:
            return list(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(raw).decode("ascii")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    array = _array_values(value)
    if array is not _NOT_AN_ARRAY:
        return array
    return _safe_repr(value)


_NOT_AN_ARRAY = object()
_ARRAY_LIBRARIES = ("numpy", "pandas")


def _array_values(value: Any) -> Any:
    """numpy arrays and scalars, pandas Series and DataFrames as plain lists, numbers and
    records (their repr elides data: ``array([0, 1, ..., 999])``). Recognised by their
    module, so neither library is imported here."""
    if type(value).__module__.split(".", 1)[0] not in _ARRAY_LIBRARIES:
        return _NOT_AN_ARRAY
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and hasattr(value, "columns"):  # a DataFrame
        return to_dict(orient="records")
    tolist = getattr(value, "tolist", None)  # ndarray, numpy scalar, Series, Index
    if callable(tolist):
        return tolist()
    item = getattr(value, "item", None)
    return item() if callable(item) else _NOT_AN_ARRAY


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unrepresentable {type(value).__name__} object>"


def _sanitize(value: Any, active: set[int], depth: int) -> Any:
    """A JSON-safe copy: cycles, NaN, odd keys and depth handled explicitly."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= _MAX_DEPTH:
        return f"<nested deeper than {_MAX_DEPTH} levels>"
    if id(value) in active:
        return "<circular reference>"
    if isinstance(value, dict):
        active.add(id(value))
        try:
            return {_key(k): _sanitize(v, active, depth + 1) for k, v in value.items()}
        finally:
            active.discard(id(value))
    if isinstance(value, (list, tuple)):
        active.add(id(value))
        try:
            return [_sanitize(item, active, depth + 1) for item in value]
        finally:
            active.discard(id(value))
    try:
        converted = _default(value)
    except Exception:
        return _safe_repr(value)
    if isinstance(converted, str):
        return converted
    active.add(id(value))
    try:
        return _sanitize(converted, active, depth + 1)
    finally:
        active.discard(id(value))


def _key(key: Any) -> str:
    return key if isinstance(key, str) else _safe_repr(key)


# One encoder each, made once: json.dumps with options builds a new encoder on every call.
_ENCODER = json.JSONEncoder(default=_default, ensure_ascii=False, allow_nan=False)
_STRICT = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
