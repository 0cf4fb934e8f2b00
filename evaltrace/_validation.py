"""Checks shared by the public APIs: bad input becomes an ``InvalidArgumentError`` that names
the argument and what was wrong, before anything is written."""

from __future__ import annotations

import json
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

from evaltrace.entities.limits import MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS
from evaltrace.exceptions import InvalidArgumentError

__all__ = [
    "require_count",
    "require_json",
    "require_tags",
    "require_text",
    "require_texts",
    "safe_str",
    "shown",
]

_MAX_ROW_ID = 2**63 - 1  # the largest integer both stores hold
_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = 60


def shown(value: Any) -> str:
    """A short, never-failing description of ``value`` for an error message."""
    try:
        return _repr.repr(value)
    except Exception:
        return f"<{type(value).__name__} object>"


def safe_str(value: Any) -> str:
    """``str(value)``, or a description when its ``__str__`` raises."""
    try:
        return str(value)
    except Exception:
        return f"<{type(value).__name__} object>"


def require_json(value: Any, what: str) -> Any:
    """``value`` if it is JSON (str, number, bool, None, lists and dicts of them; no NaN)."""
    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
        raise InvalidArgumentError(
            f"{what} must be a JSON value (str, number, bool, list, dict): {exc}"
        ) from None
    _require_distinct_keys(value, what)
    return value


def _require_distinct_keys(value: Any, what: str) -> None:
    """Keys that JSON would write the same (``True`` and ``"true"``, ``1`` and ``"1"``): the
    text would hold the key twice and read back one value."""
    if isinstance(value, dict):
        seen: dict[str, Any] = {}
        for key in value:
            text = key if isinstance(key, str) else json.dumps(key)  # True -> true, 1 -> 1
            if text in seen:
                raise InvalidArgumentError(
                    f"{what} has keys {seen[text]!r} and {key!r}, which are the same in JSON"
                )
            seen[text] = key
        for item in value.values():
            _require_distinct_keys(item, what)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _require_distinct_keys(item, what)


def require_text(value: Any, what: str, *, optional: bool = False, empty: bool = False) -> Any:
    """A string the store can hold (no NUL, no lone surrogate); non-empty unless ``empty``."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or (not empty and not value.strip()):
        kind = "a string" if empty else "a non-empty string"
        raise InvalidArgumentError(f"{what} must be {kind}, got {shown(value)}")
    if "\x00" in value:
        raise InvalidArgumentError(f"{what} must not contain NUL characters")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(
                f"{what} must be valid Unicode (it has a lone surrogate): {shown(value)}"
            ) from None
    return value


def require_texts(value: Any, what: str) -> list[str] | None:
    """None, or a list (or tuple) of strings as for ``require_text``."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidArgumentError(f"{what} must be a list of strings, got {shown(value)}")
    return [require_text(item, f"{what}[{i}]") for i, item in enumerate(value)]


def require_count(value: Any, what: str) -> int | None:
    """None, or a positive integer (not a bool)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_ROW_ID:
        raise InvalidArgumentError(f"{what} must be a positive integer, got {shown(value)}")
    return value


def require_tags(tags: Any) -> dict[str, str]:
    """Tags (of a dataset, an experiment, a prompt): None or a mapping of text keys to values,
    each kept as its text; a key or value past the limits is refused, naming it."""
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise InvalidArgumentError(f"tags must be a mapping, got {type(tags).__name__}")
    clean = {}
    for key, value in tags.items():
        require_text(key, "tag key")
        if len(key) > MAX_TAG_KEY_CHARS:
            raise InvalidArgumentError(
                f"tag key must be at most {MAX_TAG_KEY_CHARS} characters, got {shown(key)}"
            )
        text = require_text(
            value if isinstance(value, str) else safe_str(value), f"tag {key!r}", empty=True
        )
        if len(text) > MAX_TAG_VALUE_CHARS:
            raise InvalidArgumentError(
                f"tag {key!r}: value is longer than {MAX_TAG_VALUE_CHARS} characters"
            )
        clean[key] = text
    return clean
