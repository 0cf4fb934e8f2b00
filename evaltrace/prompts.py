"""The prompt registry by the reference's names: ``register_prompt``, ``load_prompt``
(``"prompts:/name/3"``, ``"prompts:/name@alias"``, ``"prompts:/name@latest"``), aliases, tags,
``search_prompts``.

Versions are immutable, so a loaded version is cached for the process: ``load_prompt`` in a hot
path is one dictionary lookup after the first load. What an alias or ``@latest`` points at can
move: those answers are kept ``ALIAS_TTL_S`` seconds (and dropped at once when this process
moves an alias). Loading a prompt inside a trace links it to the trace (the reference's
``mlflow.linkedPrompts`` tag: name and version) and to the current span.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as otel_trace

from evaltrace._config import current_user
from evaltrace._json import dumps_json, loads_json
from evaltrace._session import get_session
from evaltrace._validation import require_count, require_tags, require_text, shown
from evaltrace.entities.limits import MAX_NAME_CHARS
from evaltrace.entities.prompt import Prompt, PromptVersion
from evaltrace.exceptions import InvalidArgumentError, NotFoundError
from evaltrace.search import parse_filter
from evaltrace.search.keys import PROMPTS
from evaltrace.tracer.pipeline import get_pipeline

__all__ = [
    "ALIAS_TTL_S",
    "delete_prompt_alias",
    "load_prompt",
    "register_prompt",
    "search_prompts",
    "set_prompt_alias",
    "set_prompt_version_tag",
]

ALIAS_TTL_S = 60.0
LINKED_PROMPTS_TAG = "mlflow.linkedPrompts"
_URI = re.compile(r"^prompts:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[^/@]+))?$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")

_versions: dict[tuple[str, str, int], PromptVersion] = {}
_moving: dict[tuple[str, str, str], tuple[float, PromptVersion]] = {}
_lock = threading.Lock()


def register_prompt(
    name: str,
    template: str | list[dict[str, Any]],
    commit_message: str | None = None,
    tags: Mapping[str, Any] | None = None,
    response_format: Any = None,
    model_config: Mapping[str, Any] | None = None,
) -> PromptVersion:
    """A new version of the prompt ``name`` (version 1 makes the prompt). ``template``: text with
    ``{{variable}}`` placeholders, or a chat template (messages whose contents hold them);
    ``tags`` are the prompt's; ``response_format`` and ``model_config`` are kept with the
    version."""
    _check_name(name)
    _check_template(template)
    if model_config is not None and not isinstance(model_config, Mapping):
        raise InvalidArgumentError(f"model_config must be a mapping, got {shown(model_config)}")
    version = (
        get_session()
        .store()
        .prompts.register(
            name,
            template,
            commit_message=require_text(
                commit_message, "commit_message", optional=True, empty=True
            ),
            tags=require_tags(tags),
            response_format=response_format,
            model_config=None if model_config is None else dict(model_config),
            user=current_user(),
        )
    )
    _forget(name)
    return version


def load_prompt(
    name_or_uri: str, version: int | None = None, allow_missing: bool = False
) -> PromptVersion | None:
    """A version by URI (``prompts:/name/3``, ``prompts:/name@alias``, ``@latest``) or by name
    and ``version`` (default: the latest). ``allow_missing``: None instead of
    ``NotFoundError``. Inside a trace, the version is linked to it."""
    name, number, alias = _parse(name_or_uri, version)
    try:
        found = _cached(name, number, alias)
    except NotFoundError:
        if allow_missing:
            return None
        raise
    _link_to_current_trace(found)
    return found


def set_prompt_alias(name: str, alias: str, version: int) -> None:
    """Point ``alias`` (``"production"``) at a version (moving it if it pointed elsewhere)."""
    _check_name(name)
    _check_name(alias, "alias")
    if alias == "latest":
        raise InvalidArgumentError("'latest' is not an alias to set: it always means the newest")
    get_session().store().prompts.set_alias(name, alias, _version_number(version))
    _forget(name)


def delete_prompt_alias(name: str, alias: str) -> None:
    get_session().store().prompts.delete_alias(_check_name(name), _check_name(alias, "alias"))
    _forget(name)


def set_prompt_version_tag(name: str, version: int, key: str, value: Any) -> None:
    tags = require_tags({key: value})
    get_session().store().prompts.set_version_tag(
        _check_name(name), _version_number(version), key, tags[key]
    )
    _forget(name, versions=True)


def search_prompts(
    filter_string: str | None = None, max_results: int | None = None
) -> list[Prompt]:
    """Prompts matching ``filter_string`` (``name LIKE 'support%'``, ``tags.team = 'a'``), by
    name."""
    return (
        get_session()
        .store()
        .prompts.search(
            parse_filter(filter_string, PROMPTS), (), require_count(max_results, "max_results")
        )
    )


# -- the cache ----------------------------------------------------------------------------------


def _cached(name: str, number: int | None, alias: str | None) -> PromptVersion:
    store_uri = get_session().tracking_uri
    if number is not None:
        key = (store_uri, name, number)
        found = _versions.get(key)
        if found is None:
            found = get_session().store().prompts.get(name, number)
            with _lock:
                _versions[key] = found
        return found
    moving_key = (store_uri, name, alias or "latest")
    entry = _moving.get(moving_key)
    if entry is not None and entry[0] > time.monotonic():
        return entry[1]
    prompts = get_session().store().prompts
    found = prompts.get(name) if alias in (None, "latest") else prompts.by_alias(name, alias)
    with _lock:
        _moving[moving_key] = (time.monotonic() + ALIAS_TTL_S, found)
        _versions[(store_uri, name, found.version)] = found
    return found


def _forget(name: str, *, versions: bool = False) -> None:
    with _lock:
        for moving in [k for k in _moving if k[1] == name]:
            del _moving[moving]
        if versions:  # a version's tags changed: its cached copy is stale
            for numbered in [k for k in _versions if k[1] == name]:
                del _versions[numbered]


# -- lineage ------------------------------------------------------------------------------------


def _link_to_current_trace(version: PromptVersion) -> None:
    span = otel_trace.get_current_span()
    pending = get_pipeline().assembler.pending.get(span.get_span_context().trace_id)
    if pending is None:
        return
    linked = loads_json(pending.tags.get(LINKED_PROMPTS_TAG) or "[]")
    entry = {"name": version.name, "version": str(version.version)}
    if entry not in linked:
        linked.append(entry)
        pending.tags[LINKED_PROMPTS_TAG] = dumps_json(linked)
    if span.is_recording():
        span.set_attribute(f"evaltrace.prompt.{version.name}", version.version)


# -- checks -------------------------------------------------------------------------------------


def _parse(name_or_uri: str, version: int | None) -> tuple[str, int | None, str | None]:
    require_text(name_or_uri, "name_or_uri")
    if name_or_uri.startswith("prompts:/"):
        match = _URI.match(name_or_uri)
        if match is None:
            raise InvalidArgumentError(
                f"prompt URI {name_or_uri!r}: expected prompts:/NAME/VERSION, "
                "prompts:/NAME@ALIAS or prompts:/NAME@latest"
            )
        if version is not None:
            raise InvalidArgumentError("give the version in the URI or as version=, not both")
        number = match["version"]
        return match["name"], None if number is None else int(number), match["alias"]
    _check_name(name_or_uri)
    return name_or_uri, None if version is None else _version_number(version), None


def _check_name(name: Any, what: str = "name") -> str:
    require_text(name, what)
    if len(name) > MAX_NAME_CHARS or not _NAME.match(name):
        raise InvalidArgumentError(
            f"prompt {what} {name[:80]!r}: letters, digits, '_', '-' and '.' only"
        )
    return str(name)


def _version_number(version: Any) -> int:
    if isinstance(version, str) and version.isdigit():
        version = int(version)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidArgumentError(f"version must be a positive integer, got {shown(version)}")
    return version


def _check_template(template: Any) -> None:
    if isinstance(template, str):
        return
    if (
        isinstance(template, list)
        and template
        and all(
            isinstance(m, Mapping) and isinstance(m.get("role"), str) and "content" in m
            for m in template
        )
    ):
        return
    raise InvalidArgumentError(
        "template must be text, or a list of messages like {'role': 'user', 'content': ...}"
    )
