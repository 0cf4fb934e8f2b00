"""Settings: an explicit argument wins over an ``EVALTRACE_*`` variable, then the default.

Settings are resolved once, on first use, into a frozen :class:`Settings`. ``configure()``
replaces individual values for the rest of the process; ``reset()`` forgets everything
(tests use it to pick up a changed environment).
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, fields
from typing import Any

from evaltrace.exceptions import InvalidArgumentError

__all__ = ["Settings", "configure", "current_user", "get_settings", "reset"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every setting, its ``EVALTRACE_`` variable and its default (see the README's table)."""

    tracking_uri: str = "sqlite:///evaltrace.db"
    experiment_name: str | None = None
    experiment_id: str | None = None
    async_logging: bool = True
    max_queue_size: int = 50_000
    batch_size: int = 500
    flush_on_exit_timeout: float = 30.0
    flush_on_sigterm: bool = True
    max_payload_chars: int = 1_000_000
    use_global_provider: bool = False
    raise_internal_errors: bool = False
    user: str | None = None
    eval_max_workers: int = 4
    redact: bool = True
    redact_keys: str | None = None
    spool: bool = True
    spool_dir: str | None = None  # default: ~/.cache/evaltrace/spool
    spool_max_bytes: int = 1_000_000_000


_ENV_PREFIX = "EVALTRACE_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

_lock = threading.Lock()
_settings: Settings | None = None
_overrides: dict[str, Any] = {}


def _parse(name: str, raw: str, kind: type) -> Any:
    value = raw.strip()
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


def _field_kind(field: dataclasses.Field[Any]) -> type:
    annotation = str(field.type)
    for kind in (bool, int, float):
        if annotation.startswith(kind.__name__):
            return kind
    return str


def _resolve() -> Settings:
    values: dict[str, Any] = {}
    for field in fields(Settings):
        raw = os.environ.get(_ENV_PREFIX + field.name.upper())
        if raw is not None:
            values[field.name] = _parse(field.name, raw, _field_kind(field))
    values.update(_overrides)
    return Settings(**values)


def get_settings() -> Settings:
    """The settings in force, resolved on first call."""
    global _settings
    settings = _settings
    if settings is None:
        with _lock:
            if _settings is None:
                _settings = _resolve()
            settings = _settings
    return settings


def configure(**overrides: Any) -> Settings:
    """Override settings by name for the rest of the process; returns the new settings."""
    global _settings
    known = {field.name for field in fields(Settings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InvalidArgumentError(
            f"unknown setting(s) {', '.join(unknown)}; known settings: {', '.join(sorted(known))}"
        )
    with _lock:
        _overrides.update(overrides)
        _settings = _resolve()
        return _settings


def reset() -> None:
    """Forget overrides and resolved values; the next ``get_settings()`` reads the environment."""
    global _settings
    with _lock:
        _overrides.clear()
        _settings = None


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
