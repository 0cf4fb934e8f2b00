"""Redaction: secrets never reach the store (on by default).

Values under keys that name a secret (the key split into words: snake, kebab, dotted or
camelCase; its last word not a descriptor such as ``count`` or ``url``) and strings that look
like credentials (API keys of the usual providers, JWTs, bearer and basic credentials, URL
passwords, secret query parameters, private keys; anchored at word starts) and the values of
credentials written as text (``KEY=value``, ``KEY: value`` or ``KEY = value`` lines whose key
follows the key rules, as in an environment dump or a config file; ``Cookie:`` header lines;
``Key=value;`` pairs of connection strings such as Azure's ``AccountKey=...``) are replaced by
``[REDACTED]`` in inputs, outputs, attributes, events, tags and metadata. It runs on the
writer's thread, when a trace is converted for the store, so it costs the application nothing.
tests/tracer/test_redaction_corpora.py holds what must be hidden and what must survive.

``EVALTRACE_REDACT=0`` turns it off; ``EVALTRACE_REDACT_KEYS`` adds key patterns (regular
expressions, comma-separated); ``EVALTRACE_REDACT_ALLOW_KEYS`` names keys never redacted
(comma-separated, any case: they win over every rule); ``set_redaction_callback(fn)`` adds a
last say: ``fn(path, value) -> value`` for every string, ``path`` the keys leading to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from evaltrace._config import get_settings

__all__ = ["MARKER", "redact", "set_redaction_callback"]

MARKER = "[REDACTED]"
DEFAULT_KEYS = (
    r"pass(word|wd|phrase)?",
    r"pwd",
    r"pin",
    r"secret",
    r"token",
    r"api[-_]?key",
    r"authori[sz]ation",
    r"cookie",
    r"session[-_]?(key|token|secret)",
    r"credentials?",
    r"private[-_]?key",
    r"access[-_]?key",
    r"dsn",
    r"pgpassword",
    r"[a-z]+_key",  # OPENAI_KEY, AZURE_OPENAI_KEY, stripe_key: an environment dump's keys
)
# A key whose last word says what it describes is not the secret itself: ``token_count``,
# ``pass_rate``, ``password_reset_url``, ``time_to_first_token_ns``, ``cookie_consent``.
DESCRIPTOR_WORDS = frozenset(
    {
        "count",
        "counts",
        "rate",
        "budget",
        "limit",
        "limits",
        "length",
        "len",
        "type",
        "types",
        "name",
        "names",
        "id",
        "ids",
        "url",
        "uri",
        "consent",
        "reset",
        "k",
        "ns",
        "ms",
        "s",
        "seconds",
        "at",
        "usage",
        "policy",
        "hint",
        "expiry",
        "expires",
        "ttl",
        "required",
        "enabled",
        "set",
        "present",
        "valid",
        "kind",
        "format",
        "version",
    }
)
_SECRET_VALUES = re.compile(
    r"((?<![A-Za-z0-9])sk-(?:proj-|live-|test-)?[A-Za-z0-9_-]{16,}"  # OpenAI-style API keys
    r"|(?<![A-Za-z0-9])[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|(?i:bearer)\s+(?=[A-Za-z0-9._~+/=-]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{16,}"  # bearer
    r"|(?:Basic|BASIC)\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{12,}={0,2}"  # HTTP Basic
    r"|(?<![A-Za-z0-9])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"  # JWT
    r"|(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}"  # Google API keys
    r"|(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}"  # AWS access key ids
    r"|(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{30,}"  # GitHub fine-grained tokens
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"  # the user:password of a URL
    r"|(?<=[?&])(?i:api[-_]?key|access[-_]?token|token|secret|password|sig|signature)"
    r"=[^&\s#]+"  # secret query parameters
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----)"
)
Callback = Callable[[tuple[str, ...], str], Any]
_callback: Callback | None = None


def set_redaction_callback(callback: Callback | None) -> None:
    """Add your own redaction: ``callback(path, text) -> replacement`` for every string."""
    global _callback
    _callback = callback


@dataclass(frozen=True)
class _Rules:
    """Which keys name a secret: the pattern of secret words, and the keys never redacted."""

    pattern: re.Pattern[str]
    allowed: frozenset[str]
    # User patterns are configured: every text with ``:`` or ``=`` is looked at line by line
    # (their words are not known to the cheap test below).
    scan_every_assignment: bool

    def search(self, key: str) -> re.Match[str] | None:
        return self.pattern.search(key)


@lru_cache(maxsize=8)
def _key_rules(extra: str | None, allow: str | None) -> _Rules:
    patterns = list(DEFAULT_KEYS) + [p.strip() for p in (extra or "").split(",") if p.strip()]
    # Whole words of a key: "access_token" and "x-api-key" match, "input_tokens" does not.
    words = "|".join(f"(?:{p})" for p in patterns)
    allowed = frozenset(k.strip().lower() for k in (allow or "").split(",") if k.strip())
    return _Rules(
        re.compile(rf"(?:^|[_.\-\s])(?:{words})(?:$|[_.\-\s])", re.IGNORECASE),
        allowed,
        bool(extra and extra.strip(",")),
    )


def redact(value: Any, path: tuple[str, ...] = (), *, text: str | None = None) -> Any:
    """``value`` with secrets replaced: a copy where something matched, else ``value`` itself
    (so callers can keep the JSON text they already have).

    ``text``: the JSON text ``value`` was decoded from. When no credential pattern occurs in
    it, no string inside can hold one, and only the keys are looked at.
    """
    settings = get_settings()
    if not settings.redact:
        return value
    rules = _key_rules(settings.redact_keys, settings.redact_allow_keys)
    strings = _callback is not None or text is None or _could_hold_secret(text, rules)
    return _walk(value, path, rules, strings)


Redactor = Callable[..., Any]


def redactor() -> Redactor:
    """``redact`` (without ``text``) with the settings in force looked up once: for a loop
    over many values, such as the spans of an OTLP request."""
    settings = get_settings()
    if not settings.redact:
        return _as_is
    rules = _key_rules(settings.redact_keys, settings.redact_allow_keys)

    def bound(value: Any, path: tuple[str, ...] = ()) -> Any:
        return _walk(value, path, rules, True)

    return bound


def _as_is(value: Any, path: tuple[str, ...] = ()) -> Any:
    return value


def _walk(value: Any, path: tuple[str, ...], keys: _Rules, strings: bool) -> Any:
    if isinstance(value, str):
        return _text(value, path, keys) if strings else value
    if isinstance(value, dict):
        secret = _secret_keys(value, keys)
        copy = None
        for key, item in value.items():
            if key in secret and _could_be_secret(item):
                new = MARKER
            elif isinstance(item, str):
                if not strings or (_callback is None and not _could_hold_secret(item, keys)):
                    continue  # the common case, decided without a call
                new = _text(item, (*path, str(key)), keys)
            elif isinstance(item, (dict, list)):
                child_path = (*path, str(key)) if _callback is not None else path
                new = _walk(item, child_path, keys, strings)
            else:
                continue
            if new is not item:
                if copy is None:
                    copy = dict(value)
                copy[key] = new
        return value if copy is None else copy
    if isinstance(value, list):
        changed = [_walk(item, path, keys, strings) for item in value]
        return value if all(new is old for new, old in zip(changed, value)) else changed
    return value


def _text(value: str, path: tuple[str, ...], keys: _Rules) -> Any:
    text = value
    if _looks_secret(value):
        text = _SECRET_VALUES.sub(MARKER, value)
    if _names_a_secret_word(text, keys):
        text = _redact_assignments(text, keys)
    if _callback is not None:
        text = _callback(path, text)
    return value if text == value else text


def _could_be_secret(value: Any) -> bool:
    """Booleans and empty values are left alone; a number under a secret key is a secret too
    (a PIN); descriptor keys (``token_count``) are not secret keys to begin with."""
    return not (value is None or value == "" or isinstance(value, bool))


# Bounded memory: at most 2,000 shapes of at most 32 keys, and 10,000 single keys (a few MB).
_MAX_REMEMBERED_SHAPES = 2_000
_MAX_SHAPE_KEYS = 32
_MAX_REMEMBERED_KEYS = 10_000
_shapes: dict[tuple[tuple[Any, ...], _Rules], frozenset[str]] = {}
_keys: dict[tuple[str, _Rules], bool] = {}


def _secret_keys(mapping: dict[Any, Any], keys: _Rules) -> frozenset[str]:
    """The keys of ``mapping`` that name a secret, remembered by the mapping's keys: the same
    few shapes of dict (a chat message, a usage record) come back in every trace. Big dicts
    (keyed by data, ids as keys) are looked at key by key."""
    if len(mapping) > _MAX_SHAPE_KEYS:
        return frozenset(k for k in mapping if isinstance(k, str) and _names_a_secret(k, keys))
    shape = tuple(mapping)
    found = _shapes.get((shape, keys))
    if found is None:
        if len(_shapes) >= _MAX_REMEMBERED_SHAPES:
            _shapes.clear()  # shapes made from data: start again, stay bounded
        found = _shapes[(shape, keys)] = frozenset(
            k for k in shape if isinstance(k, str) and _names_a_secret(k, keys)
        )
    return found


# Keys that hold identifiers, never secrets: the conversation a trace belongs to and its end
# user, as the reference system and the OpenInference / OpenTelemetry GenAI conventions name
# them (their values are still scanned for credentials).
IDENTIFIER_KEYS = frozenset(
    {"mlflow.trace.session", "mlflow.trace.user", "session.id", "user.id", "gen_ai.conversation.id"}
)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD_SEPARATORS = re.compile(r"[_.\-\s]+")


def _names_a_secret(key: str, keys: _Rules) -> bool:
    """Whether ``key`` names a secret (remembered): one of its words (snake, kebab, dotted or
    camelCase) is a secret word, and its last word does not say it only describes one."""
    found = _keys.get((key, keys))
    if found is None:
        if len(_keys) >= _MAX_REMEMBERED_KEYS:
            _keys.clear()
        found = _keys[(key, keys)] = _secret_key(key, keys)
    return found


def _secret_key(key: str, keys: _Rules) -> bool:
    if key in IDENTIFIER_KEYS or key.lower() in keys.allowed:
        return False
    if _connection_url_key(key):
        return True
    spaced = _CAMEL.sub("_", key)  # accessToken -> access_Token
    if keys.search(spaced) is None:
        return False
    words = [w for w in _WORD_SEPARATORS.split(spaced.lower()) if w]
    return not words or words[-1] not in DESCRIPTOR_WORDS


def _connection_url_key(key: str) -> bool:
    """``DATABASE_URL``, ``REDIS_URL``: URLs that carry credentials, "url" or not."""
    words = [w for w in _WORD_SEPARATORS.split(_CAMEL.sub("_", key).lower()) if w]
    return len(words) >= 2 and words[-1] == "url" and words[-2] in _CONNECTION_WORDS


_CONNECTION_WORDS = frozenset({"database", "db", "redis", "broker", "amqp", "mongo", "mongodb"})


def _could_hold_secret(text: str, keys: _Rules) -> bool:
    return _looks_secret(text) or _names_a_secret_word(text, keys)


def _names_a_secret_word(text: str, keys: _Rules) -> bool:
    """Whether a default secret word's stem stands right before ``:`` or ``=`` somewhere (no
    quote between: a JSON text's own keys, such as ``"max_tokens": 256``, are the key rules'
    business). Plain substring searches first, then a bounded match at each find: linear in
    the text (the key patterns themselves, such as ``[a-z]+_key``, backtrack quadratically
    over a long run of letters), and a small cost on the writer's path for every string."""
    if "=" not in text and ":" not in text:
        return False
    if keys.scan_every_assignment:
        return True
    lowered = text.lower()
    for stem in _STEMS:
        start = lowered.find(stem)
        while start != -1:
            if _SIGN_AFTER_STEM.match(lowered, start + len(stem)) is not None:
                return True
            start = lowered.find(stem, start + 1)
    return False


_STEMS = ("pass", "pwd", "pin", "secret", "token", "key", "auth", "cookie", "credential", "dsn")
_SIGN_AFTER_STEM = re.compile(r"[\w.\-]{0,100}[ \t]*[:=]")


# ``KEY=value``, ``KEY: value``, ``export KEY = "value"`` at a line's start, or ``Key=value``
# after a connection string's ``;``. The value is one word (quoted or not): "Password: please
# reset it" is prose, not a credential.
_ASSIGNMENT = re.compile(
    r"(?m)(?:^[ \t]*(?:export[ \t]+|set[ \t]+)?|(?<=;)[ \t]*)"
    r"(?P<key>[A-Za-z_][A-Za-z0-9_.\-]{0,99})[ \t]*(?P<sep>[:=])[ \t]*"
    r"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s;\"']+)(?=[ \t]*(?:$|;))"
)
# A ``Cookie:`` / ``Set-Cookie:`` header line: every cookie on it is a credential.
_COOKIE_LINE = re.compile(r"(?im)^([ \t]*(?:set-)?cookie[ \t]*:[ \t]*)\S[^\n]*")
# Values that hold nothing: "TOKEN=" is empty, "password: none" says there is none.
_EMPTY_VALUES = frozenset({"", "none", "null", "nil", "true", "false", "n/a", "-", "***", MARKER})


def _redact_assignments(text: str, keys: _Rules) -> str:
    def value(match: re.Match[str]) -> str:
        raw = match["value"]
        bare = raw[1:-1] if raw[:1] in "\"'" else raw
        if bare.lower() in _EMPTY_VALUES or not _names_a_secret(match["key"], keys):
            return match[0]
        quote = raw[:1] if raw[:1] in "\"'" else ""
        return match[0][: match.start("value") - match.start()] + f"{quote}{MARKER}{quote}"

    text = _ASSIGNMENT.sub(value, text)
    if "ookie" in text or "OOKIE" in text:
        text = _COOKIE_LINE.sub(lambda m: m[1] + MARKER, text)
    return text


def _looks_secret(text: str) -> bool:
    # A cheap pre-check before the regular expression: every pattern has one of these.
    return (
        "sk-" in text
        or "k_live_" in text
        or "k_test_" in text
        or "earer" in text
        or "EARER" in text
        or "asic " in text
        or "ASIC " in text
        or "eyJ" in text
        or "xox" in text
        or "AIza" in text
        or "AKIA" in text
        or "PRIVATE" in text
        or ("@" in text and "://" in text)
        or ("=" in text and _QUERY_SECRET.search(text) is not None)
        or "github_pat_" in text
        or ("gh" in text and _GITHUB_PREFIX.search(text) is not None)
    )


_GITHUB_PREFIX = re.compile(r"gh[pousr]_|github_pat_")
_QUERY_SECRET = re.compile(
    r"[?&](?i:api[-_]?key|access[-_]?token|token|secret|password|sig|signature)="
)
