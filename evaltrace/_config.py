"""Settings: each declared once, with its type, default and ``EVALTRACE_*`` variable.

An explicit value (``configure(...)``, ``set_tracking_uri``) wins over the variable, which wins
over the default. The values belong to a Session (evaltrace/_session.py): this module only
declares, parses and checks them, and ``get_settings()`` answers with the settings of the
session in force (the default session unless one was installed).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from evaltrace._validation import shown
from evaltrace.exceptions import InvalidArgumentError

__all__ = [
    "Settings",
    "bind_settings_source",
    "check_overrides",
    "current_user",
    "get_settings",
    "publish_settings",
    "resolve_settings",
]


def _positive(minimum: float = 1) -> dict[str, Any]:
    return {"min": minimum}


def _fraction() -> dict[str, Any]:
    return {"min": 0, "max": 1}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every setting, its ``EVALTRACE_`` variable and its default (see the README's table)."""

    tracking_uri: str = "sqlite:///evaltrace.db"
    # The bearer token sent to an http(s):// tracking URI (an `evaltrace server`).
    tracking_token: str | None = field(default=None, repr=False)
    experiment_name: str | None = None
    experiment_id: str | None = None
    async_logging: bool = True
    max_queue_size: int = field(default=50_000, metadata=_positive())
    batch_size: int = field(default=500, metadata=_positive())
    flush_on_exit_timeout: float = field(default=30.0, metadata=_positive(0))
    # Seconds one store call (connecting, waiting for a lock, a statement) may take before it
    # fails with StoreUnavailableError (the writer then spools); 0: no bound.
    store_timeout: float = field(default=30.0, metadata=_positive(0))
    flush_on_sigterm: bool = True
    max_payload_chars: int = field(default=1_000_000, metadata=_positive(100))
    use_global_provider: bool = False
    # The share of traces recorded (0 to 1), decided when a trace's root starts: a trace is
    # kept or left out whole, its children follow the root.
    trace_sampling_ratio: float = field(default=1.0, metadata=_fraction())
    raise_internal_errors: bool = False
    user: str | None = None
    eval_max_workers: int = field(default=4, metadata=_positive())
    # Seconds one scorer may take on one row before it counts as that scorer's error (0: no
    # limit).
    scorer_timeout: float = field(default=120.0, metadata=_positive(0))
    eval_progress: bool = True  # evaluate()'s progress bar (tqdm, on stderr)
    redact: bool = True
    redact_keys: str | None = None
    redact_allow_keys: str | None = None  # keys never redacted (comma-separated)
    spool: bool = True
    spool_dir: str | None = None  # default: ~/.cache/evaltrace/spool
    spool_max_bytes: int = field(default=1_000_000_000, metadata=_positive(0))
    # `evaltrace server`: the bearer token it asks for (needed to listen beyond loopback).
    server_token: str | None = field(default=None, repr=False)
    # `evaltrace server`: a file of scoped tokens, one per line "NAME SCOPES sha256:HEX"
    # (`evaltrace tokens create` writes them); needed to listen beyond loopback, as a token is.
    server_tokens_file: str | None = None
    # `evaltrace server` without a token: Host names it answers to besides loopback ones
    # (comma-separated; "*": any). Others get 421 (a DNS-rebinding page cannot read it).
    server_allowed_hosts: str | None = None
    # Also export evaltrace's own traces over OTLP/HTTP to this URL (else the standard
    # OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, if set); needs evaltrace[otlp].
    otlp_endpoint: str | None = None
    # `evaltrace server`'s OTLP endpoint: requests written at once; one more is answered 429.
    otlp_max_pending: int = field(default=8, metadata=_positive())
    # `evaltrace server`: processes converting OTLP requests to rows (0: in the server's).
    otlp_workers: int = field(default=2, metadata=_positive(0))


_ENV_PREFIX = "EVALTRACE_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_FIELDS = {f.name: f for f in fields(Settings)}


def _kind(name: str) -> type:
    annotation = str(_FIELDS[name].type)
    for kind in (bool, int, float):
        if annotation.startswith(kind.__name__):
            return kind
    return str


def _optional(name: str) -> bool:
    return "None" in str(_FIELDS[name].type)


def _parse_env(name: str, raw: str) -> Any:
    value, kind = raw.strip(), _kind(name)
    try:
        if kind is bool:
            if value.lower() in _TRUE:
                return True
            if value.lower() in _FALSE:
                return False
            raise ValueError(value)
        if kind is int:
            return int(value)
        if kind is float:
            return float(value)
    except ValueError:
        raise InvalidArgumentError(
            f"{_ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from None
    return value or None


def _check(name: str, value: Any, where: str) -> Any:
    """``value`` if it fits setting ``name``, else InvalidArgumentError naming both."""
    kind = _kind(name)
    if value is None and _optional(name):
        return None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if (kind in (int, float) and isinstance(value, bool)) or not isinstance(value, kind):
        raise InvalidArgumentError(f"{where} must be a {kind.__name__}, got {shown(value)}")
    minimum = _FIELDS[name].metadata.get("min")
    if minimum is not None and value < minimum:
        raise InvalidArgumentError(f"{where} must be at least {minimum}, got {shown(value)}")
    maximum = _FIELDS[name].metadata.get("max")
    if maximum is not None and value > maximum:
        raise InvalidArgumentError(f"{where} must be at most {maximum}, got {shown(value)}")
    if isinstance(value, str) and not value.strip():
        raise InvalidArgumentError(f"{where} must not be empty")
    return value


def check_overrides(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Known setting names with values of the right type and range; else InvalidArgumentError."""
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise InvalidArgumentError(
            f"unknown setting(s) {', '.join(unknown)}; known settings: {', '.join(_FIELDS)}"
        )
    return {name: _check(name, value, f"setting {name}") for name, value in overrides.items()}


def resolve_settings(overrides: Mapping[str, Any]) -> Settings:
    """The environment's values under ``overrides`` (already checked)."""
    values: dict[str, Any] = {}
    for name in _FIELDS:
        raw = os.environ.get(_ENV_PREFIX + name.upper())
        if raw is not None:
            parsed = _parse_env(name, raw)
            values[name] = _check(name, parsed, f"{_ENV_PREFIX}{name.upper()}")
    values.update(overrides)
    return Settings(**values)


def _environment_only() -> Settings:
    return resolve_settings({})


_source: Callable[[], Settings] = _environment_only
# The current session's settings once resolved: read on every traced call, so one global read.
_current: Settings | None = None


def bind_settings_source(source: Callable[[], Settings]) -> None:
    """Where ``get_settings()`` takes its answer from (the session module binds itself)."""
    global _source
    _source = source


def publish_settings(settings: Settings | None) -> None:
    """The current session's settings changed (None: ask ``source`` again)."""
    global _current
    _current = settings


def get_settings() -> Settings:
    """The settings in force: those of the current session."""
    settings = _current
    return settings if settings is not None else _source()


def current_user() -> str | None:
    """Who annotations and dataset changes are attributed to: EVALTRACE_USER, else the OS user."""
    configured = get_settings().user
    if configured:
        return configured
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        return None
