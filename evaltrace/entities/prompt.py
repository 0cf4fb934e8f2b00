"""Prompts in the registry: named templates with immutable numbered versions, aliases that
point at a version, tags. A template is text with ``{{variable}}`` placeholders, or a chat
template: a list of messages whose contents hold them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Prompt", "PromptVersion", "template_variables"]

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptVersion:
    name: str
    version: int
    template: str | list[dict[str, Any]]
    commit_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # the version's own tags
    response_format: Any = None
    model_config: dict[str, Any] | None = None
    creation_timestamp: int = 0  # ms
    created_by: str | None = None
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"prompts:/{self.name}/{self.version}"

    @property
    def is_text_prompt(self) -> bool:
        return isinstance(self.template, str)

    @property
    def variables(self) -> set[str]:
        return template_variables(self.template)

    def format(self, **values: Any) -> str | list[dict[str, Any]]:
        """The template with its variables filled in; ``InvalidArgumentError`` naming every
        variable not given."""
        missing = sorted(self.variables - set(values))
        if missing:
            from evaltrace.exceptions import InvalidArgumentError

            raise InvalidArgumentError(
                f"prompt {self.uri} needs {', '.join(missing)} "
                f"(given: {', '.join(sorted(values)) or 'nothing'})"
            )

        def filled(text: str) -> str:
            return _VARIABLE.sub(lambda m: str(values[m.group(1)]), text)

        if isinstance(self.template, str):
            return filled(self.template)
        return [
            {**message, "content": filled(message["content"])}
            if isinstance(message.get("content"), str)
            else dict(message)
            for message in self.template
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "template": self.template,
            "commit_message": self.commit_message,
            "tags": dict(self.tags),
            "response_format": self.response_format,
            "model_config": self.model_config,
            "creation_timestamp": self.creation_timestamp,
            "created_by": self.created_by,
            "aliases": list(self.aliases),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromptVersion:
        return cls(
            name=data["name"],
            version=int(data["version"]),
            template=data["template"],
            commit_message=data.get("commit_message"),
            tags=dict(data.get("tags") or {}),
            response_format=data.get("response_format"),
            model_config=data.get("model_config"),
            creation_timestamp=int(data.get("creation_timestamp") or 0),
            created_by=data.get("created_by"),
            aliases=tuple(data.get("aliases") or ()),
        )

    def __repr__(self) -> str:
        return f"PromptVersion(name={self.name!r}, version={self.version})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Prompt:
    """A prompt's name, tags and how many versions it has."""

    name: str
    tags: dict[str, str] = field(default_factory=dict)
    latest_version: int = 0
    creation_timestamp: int = 0  # ms
    aliases: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "tags": dict(self.tags),
            "latest_version": self.latest_version,
            "creation_timestamp": self.creation_timestamp,
            "aliases": dict(self.aliases),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prompt:
        return cls(
            name=data["name"],
            tags=dict(data.get("tags") or {}),
            latest_version=int(data.get("latest_version") or 0),
            creation_timestamp=int(data.get("creation_timestamp") or 0),
            aliases={k: int(v) for k, v in (data.get("aliases") or {}).items()},
        )


def template_variables(template: Any) -> set[str]:
    if isinstance(template, str):
        return set(_VARIABLE.findall(template))
    found: set[str] = set()
    for message in template or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            found |= set(_VARIABLE.findall(content))
    return found
