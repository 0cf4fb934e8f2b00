"""Redaction: secrets never reach the store (on by default).

Values under keys that look secret (password, secret, token, api_key, authorization, cookie,
session, ...) and strings that look like credentials (OpenAI-style ``sk-`` keys, bearer tokens,
AWS access keys, GitHub tokens, private keys) are replaced by ``[REDACTED]`` in inputs,
outputs, attributes, events, tags and metadata. It runs on the writer's thread, when a trace
is converted for the store, so it costs the application nothing.

``EVALTRACE_REDACT=0`` turns it off; ``EVALTRACE_REDACT_KEYS`` adds key patterns (regular
expressions, comma-separated); ``set_redaction_callback(fn)`` adds a last say:
``fn(path, value) -> value`` for every string, where ``path`` is the tuple of keys leading to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from evaltrace._config import get_settings

__all__ = ["MARKER", "redact", "set_redaction_callback"]

MARKER = "[REDACTED]"
DEFAULT_KEYS = (
    r"pass(word|wd)?",
    r"secret",
    r"token",
    r"api[-_]?key",
    r"authori[sz]ation",
    r"cookie",
    r"session[-_]?(id|key|token)?",
    r"credential",
    r"private[-_]?key",
)
_SECRET_VALUES = re.compile(
    r"(sk-[A-Za-z0-9_-]{16,}"  # OpenAI-style API keys
    r"|[Bb]earer\s+[A-Za-z0-9._~+/=-]{8,}"  # bearer tokens
    r"|AKIA[0-9A-Z]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)"
)
Callback = Callable[[tuple[str, ...], str], Any]
_callback: Callback | None = None


def set_redaction_callback(callback: Callback | None) -> None:
    """Add your own redaction: ``callback(path, text) -> replacement`` for every string."""
    global _callback
    _callback = callback


@lru_cache(maxsize=8)
def _key_pattern(extra: str | None) -> re.Pattern[str]:
    patterns = list(DEFAULT_KEYS) + [p.strip() for p in (extra or "").split(",") if p.strip()]
    # Whole words of a key: "access_token" and "x-api-key" match, "input_tokens" does not.
    words = "|".join(f"(?:{p})" for p in patterns)
    return re.compile(rf"(?:^|[_.\-\s])(?:{words})(?:$|[_.\-\s])", re.IGNORECASE)


def redact(value: Any, path: tuple[str, ...] = ()) -> Any:
    """A copy of ``value`` with secrets replaced (the value itself when nothing matched)."""
    settings = get_settings()
    if not settings.redact:
        return value
    return _walk(value, path, _key_pattern(settings.redact_keys))


def _walk(value: Any, path: tuple[str, ...], keys: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        text = _SECRET_VALUES.sub(MARKER, value) if _looks_secret(value) else value
        return _callback(path, text) if _callback is not None else text
    if isinstance(value, dict):
        return {
            k: MARKER if _secret_key(k, value[k], keys) else _walk(value[k], (*path, str(k)), keys)
            for k in value
        }
    if isinstance(value, list):
        return [_walk(item, path, keys) for item in value]
    return value


def _secret_key(key: Any, value: Any, keys: re.Pattern[str]) -> bool:
    """A key that names a secret, holding something that could be one (numbers, booleans and
    empty values are left alone: ``time_to_first_token_ns`` is a duration)."""
    if (
        not isinstance(key, str)
        or value is None
        or value == ""
        or isinstance(value, (bool, int, float))
    ):
        return False
    return _names_a_secret(key, keys)


_MAX_REMEMBERED_KEYS = 10_000
_remembered: dict[tuple[str, re.Pattern[str]], bool] = {}


def _names_a_secret(key: str, keys: re.Pattern[str]) -> bool:
    """``keys.search(key)``, remembered: the same few hundred keys come back in every trace."""
    found = _remembered.get((key, keys))
    if found is None:
        if len(_remembered) >= _MAX_REMEMBERED_KEYS:
            _remembered.clear()  # keys made from data (ids as keys): start again, stay bounded
        found = _remembered[(key, keys)] = keys.search(key) is not None
    return found


def _looks_secret(text: str) -> bool:
    # A cheap pre-check before the regular expression: every pattern has one of these.
    return (
        "sk-" in text
        or "earer" in text
        or "AKIA" in text
        or "PRIVATE" in text
        or ("gh" in text and _GITHUB_PREFIX.search(text) is not None)
    )


_GITHUB_PREFIX = re.compile(r"gh[pousr]_")
