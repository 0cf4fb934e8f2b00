"""The prompts facet on SQL: register (a new immutable version, numbered in the registering
transaction), read a version, aliases, tags, search."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from evaltrace._json import dumps_json, loads_json
from evaltrace.entities.prompt import Prompt, PromptVersion
from evaltrace.exceptions import NotFoundError, StoreUnavailableError
from evaltrace.search import Expr, OrderKey
from evaltrace.store import models
from evaltrace.store.database import Database, replace_tags
from evaltrace.store.filter_sql import PROMPT_TARGET

__all__ = ["SqlPrompts"]

_RETRIES = 5  # registrations of one name racing for a version number


class SqlPrompts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def register(
        self,
        name: str,
        template: Any,
        *,
        commit_message: str | None,
        tags: Mapping[str, str],
        response_format: Any,
        model_config: dict[str, Any] | None,
        user: str | None,
    ) -> PromptVersion:
        """A new version (1 for a new prompt); ``tags`` are the prompt's. Concurrent
        registrations of one name get distinct numbers (the key refuses a duplicate; the loser
        numbers again)."""
        for _ in range(_RETRIES):
            try:
                return self._register_once(
                    name, template, commit_message, tags, response_format, model_config, user
                )
            except IntegrityError:
                continue
        raise StoreUnavailableError(f"prompt {name!r}: could not number a new version")

    def _register_once(
        self,
        name: str,
        template: Any,
        commit_message: str | None,
        tags: Mapping[str, str],
        response_format: Any,
        model_config: dict[str, Any] | None,
        user: str | None,
    ) -> PromptVersion:
        p, v = models.prompts, models.prompt_versions
        now = _now_ms()
        with self._db.write() as connection:
            known = connection.execute(select(p.c.name).where(p.c.name == name)).first()
            if known is None:
                connection.execute(
                    p.insert().values(name=name, created_time=now, last_update_time=now)
                )
            else:
                connection.execute(update(p).where(p.c.name == name).values(last_update_time=now))
            latest = connection.execute(
                select(func.max(v.c.version)).where(v.c.name == name)
            ).scalar_one()
            version = (latest or 0) + 1
            connection.execute(
                v.insert().values(
                    name=name,
                    version=version,
                    template=dumps_json(template),
                    commit_message=commit_message,
                    response_format=None
                    if response_format is None
                    else dumps_json(response_format),
                    model_config=None if model_config is None else dumps_json(model_config),
                    created_time=now,
                    created_by=user,
                )
            )
            replace_tags(connection, models.prompt_tags, {"name": name}, tags)
        return self.get(name, version)

    def get(self, name: str, version: int | None = None) -> PromptVersion:
        """A version, or the latest one; ``NotFoundError`` naming what is missing."""
        v = models.prompt_versions
        with self._db.read() as connection:
            query = select(v).where(v.c.name == name)
            if version is None:
                query = query.order_by(v.c.version.desc()).limit(1)
            else:
                query = query.where(v.c.version == version)
            row = connection.execute(query).mappings().first()
            if row is None:
                what = f"prompt {name!r}" + ("" if version is None else f" version {version}")
                raise NotFoundError(f"{what} not found")
            return self._version(connection, row)

    def by_alias(self, name: str, alias: str) -> PromptVersion:
        a = models.prompt_aliases
        with self._db.read() as connection:
            version = connection.execute(
                select(a.c.version).where(a.c.name == name, a.c.alias == alias)
            ).scalar()
        if version is None:
            raise NotFoundError(f"prompt {name!r} has no alias {alias!r}")
        return self.get(name, int(version))

    def set_alias(self, name: str, alias: str, version: int) -> None:
        a, v = models.prompt_aliases, models.prompt_versions
        with self._db.write() as connection:
            found = connection.execute(
                select(v.c.version).where(v.c.name == name, v.c.version == version)
            ).first()
            if found is None:
                raise NotFoundError(f"prompt {name!r} version {version} not found")
            connection.execute(delete(a).where(a.c.name == name, a.c.alias == alias))
            connection.execute(a.insert().values(name=name, alias=alias, version=version))

    def delete_alias(self, name: str, alias: str) -> None:
        a = models.prompt_aliases
        with self._db.write() as connection:
            gone = connection.execute(
                delete(a).where(a.c.name == name, a.c.alias == alias)
            ).rowcount
        if not gone:
            raise NotFoundError(f"prompt {name!r} has no alias {alias!r}")

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        v = models.prompt_versions
        with self._db.write() as connection:
            found = connection.execute(
                select(v.c.version).where(v.c.name == name, v.c.version == version)
            ).first()
            if found is None:
                raise NotFoundError(f"prompt {name!r} version {version} not found")
            keys = {"name": name, "version": version}
            replace_tags(connection, models.prompt_version_tags, keys, {key: value})

    def versions(self, name: str) -> list[PromptVersion]:
        v = models.prompt_versions
        with self._db.read() as connection:
            found = connection.execute(
                select(v).where(v.c.name == name).order_by(v.c.version)
            ).mappings()
            return [self._version(connection, row) for row in found]

    def search(
        self, condition: Expr | None, order_by: Sequence[OrderKey], max_results: int | None
    ) -> list[Prompt]:
        p = models.prompts
        query = select(p)
        if condition is not None:
            query = query.where(self._db.filters.compile(condition, PROMPT_TARGET))
        orders = [
            p.c.get(k.key.name, p.c.name).desc()
            if k.descending
            else p.c.get(k.key.name, p.c.name).asc()
            for k in order_by
        ]
        query = query.order_by(*orders, p.c.name)
        if max_results is not None:
            query = query.limit(max_results)
        with self._db.read() as connection:
            return [self._prompt(connection, row) for row in connection.execute(query).mappings()]

    def _version(self, connection: Connection, row: Any) -> PromptVersion:
        t, a = models.prompt_version_tags, models.prompt_aliases
        name, version = row["name"], row["version"]
        tags = {
            tag["key"]: tag["value"]
            for tag in connection.execute(
                select(t).where(t.c.name == name, t.c.version == version)
            ).mappings()
        }
        aliases = tuple(
            sorted(
                connection.execute(
                    select(a.c.alias).where(a.c.name == name, a.c.version == version)
                ).scalars()
            )
        )
        return PromptVersion(
            name=name,
            version=version,
            template=loads_json(row["template"]),
            commit_message=row["commit_message"],
            tags=tags,
            response_format=_loaded(row["response_format"]),
            model_config=_loaded(row["model_config"]),
            creation_timestamp=row["created_time"],
            created_by=row["created_by"],
            aliases=aliases,
        )

    def _prompt(self, connection: Connection, row: Any) -> Prompt:
        t, a, v = models.prompt_tags, models.prompt_aliases, models.prompt_versions
        name = row["name"]
        tags = {
            tag["key"]: tag["value"]
            for tag in connection.execute(select(t).where(t.c.name == name)).mappings()
        }
        aliases = {
            alias["alias"]: alias["version"]
            for alias in connection.execute(select(a).where(a.c.name == name)).mappings()
        }
        latest = connection.execute(
            select(func.max(v.c.version)).where(v.c.name == name)
        ).scalar_one()
        return Prompt(
            name=name,
            tags=tags,
            latest_version=latest or 0,
            creation_timestamp=row["created_time"],
            aliases=aliases,
        )


def _dumped(value: Any) -> str | None:
    return None if value is None else dumps_json(value)


def _loaded(text: str | None) -> Any:
    return None if text is None else loads_json(text)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
