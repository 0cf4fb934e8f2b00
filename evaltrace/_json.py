"""The one JSON codec: every write path and every reader of stored JSON goes through here.

Policies, each decided once:
- integers past 64 bits stay exact (orjson would make them floats when reading and refuses
  them when writing, so such text and values go to the standard library);
- NaN and infinities are not JSON: values that may hold them are cleaned by the serializer
  (tracer/serialize.py) before they reach this codec;
- text the stores cannot hold (NUL, lone surrogates) is replaced by U+FFFD (``storable_text``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["dumps_json", "dumps_json_bytes", "loads_json", "storable_text"]

# What neither SQLite's nor PostgreSQL's UTF-8 text can hold: NUL, and lone surrogates (which
# Python strings carry from os.listdir, sys.argv or bytes decoded with "surrogateescape").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """``text`` with NUL and lone surrogates replaced by U+FFFD (the text itself if none)."""
    if text.isascii() and "\x00" not in text:  # isascii() is O(1) on CPython strings
        return text
    return _UNSTORABLE.sub("\ufffd", text)


# 19 digits in a row: a number that may not fit in 64 bits (2**63 has 19 digits).
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def loads_json(text: str | bytes) -> Any:
    """``json.loads(text)``, with orjson's speed where that is exact: orjson turns integers past
    64 bits into floats, so text with a long run of digits goes to ``json``."""
    probe = text if isinstance(text, str) else text.decode("utf-8")
    if _LONG_DIGITS.search(probe) is None:
        return orjson.loads(probe)
    return json.loads(probe)


def dumps_json_bytes(
    value: Any, default: Callable[[Any], Any] | None = None, *, sort_keys: bool = False
) -> bytes:
    """Compact JSON as UTF-8; what orjson refuses (integers past 64 bits, non-string keys, lone
    surrogates) goes to ``json``, escaped to ASCII. ``default`` turns other objects into JSON
    (as in ``json.dumps``); without it they raise ``TypeError``."""
    try:
        return orjson.dumps(value, default=default, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except orjson.JSONEncodeError:
        text = json.dumps(value, separators=(",", ":"), default=default, sort_keys=sort_keys)
        return text.encode("ascii")


def dumps_json(
    value: Any, default: Callable[[Any], Any] | None = None, *, sort_keys: bool = False
) -> str:
    """Compact JSON text (see ``dumps_json_bytes``)."""
    return dumps_json_bytes(value, default, sort_keys=sort_keys).decode("utf-8")
