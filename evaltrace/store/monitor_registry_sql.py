"""Registered scorers in SQL: definitions by version, sampling, the checkpoint a started scorer
reads the change feed from."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from evaltrace._json import dumps_json
from evaltrace.entities.monitoring import (
    ScorerRegistration,
)
from evaltrace.exceptions import InvalidArgumentError, ScorerNotFoundError
from evaltrace.search import parse_filter
from evaltrace.store import models, rows
from evaltrace.store.monitor_common_sql import (
    OPEN_STATES,
    MonitorTables,
)

__all__ = ["ScorerRegistrySql"]


class ScorerRegistrySql(MonitorTables):
    """Register, version, sample, list and delete scorers."""

    def register(self, experiment_id: str, name: str, kind: str, definition: dict[str, Any]) -> int:
        """Store a scorer's definition: a new version when it differs from the current one (the
        first registration is version 1, stopped). Returns the current version."""
        scorers, versions = models.registered_scorers, models.scorer_versions
        key = rows.experiment_key(experiment_id)
        text = dumps_json(definition)
        now = self.clock()
        with self._db.write() as connection:
            found = connection.execute(
                select(scorers.c.version).where(
                    scorers.c.experiment_id == key, scorers.c.name == name
                )
            ).first()
            if found is None:
                version = 1
                connection.execute(
                    insert(scorers).values(
                        experiment_id=key,
                        name=name,
                        version=1,
                        state="stopped",
                        sample_rate=0.0,
                        created_time=now,
                        updated_time=now,
                    )
                )
            else:
                current = connection.execute(
                    select(versions.c.kind, versions.c.definition).where(
                        versions.c.experiment_id == key,
                        versions.c.name == name,
                        versions.c.version == found[0],
                    )
                ).one()
                if current.kind == kind and current.definition == text:
                    return int(found[0])
                version = int(found[0]) + 1
                connection.execute(
                    update(scorers)
                    .where(scorers.c.experiment_id == key, scorers.c.name == name)
                    .values(version=version, updated_time=now)
                )
            connection.execute(
                insert(versions).values(
                    experiment_id=key,
                    name=name,
                    version=version,
                    kind=kind,
                    definition=text,
                    created_time=now,
                )
            )
        return version

    def set_sampling(
        self,
        experiment_id: str,
        name: str,
        *,
        state: str,
        sample_rate: float,
        filter_string: str | None,
        max_per_hour: int | None,
        max_concurrency: int | None,
    ) -> None:
        """Start, update or stop a registered scorer. Starting the first scorer of an
        experiment sets the feed's checkpoint to now: monitoring covers traces from here on
        (``backfill`` covers the past)."""
        if filter_string:
            parse_filter(filter_string)  # an InvalidFilterError now, not in the worker later
        scorers = models.registered_scorers
        key = rows.experiment_key(experiment_id)
        with self._db.write() as connection:
            changed = connection.execute(
                update(scorers)
                .where(scorers.c.experiment_id == key, scorers.c.name == name)
                .values(
                    state=state,
                    sample_rate=sample_rate,
                    filter_string=filter_string or None,
                    max_per_hour=max_per_hour,
                    max_concurrency=max_concurrency,
                    updated_time=self.clock(),
                )
            ).rowcount
            if not changed:
                raise ScorerNotFoundError(
                    f"no registered scorer {name!r} in experiment {experiment_id}"
                )
            if state == "active":
                self._start_checkpoint(connection, key)

    def _start_checkpoint(self, connection: Connection, key: int) -> None:
        cp = models.monitor_checkpoints
        if connection.execute(select(cp.c.experiment_id).where(cp.c.experiment_id == key)).first():
            return
        xid, seq = self._head(connection, key)
        connection.execute(
            insert(cp).values(
                experiment_id=key, commit_xid=xid, change_seq=seq, updated_time=self.clock()
            )
        )

    def _head(self, connection: Connection, key: int) -> tuple[int, int]:
        """The feed's position now: every change after it is new."""
        ch = models.trace_changes
        if self._postgres:  # transactions still running may commit below the newest xid
            horizon = self._horizon(connection)
            return horizon - 1, 2**62
        seq = connection.execute(
            select(func.max(ch.c.change_seq)).where(ch.c.experiment_id == key)
        ).scalar()
        return 0, int(seq or 0)

    def registered(self, experiment_id: str) -> list[ScorerRegistration]:
        return self._registrations(experiment_id, None, None)

    def delete(self, experiment_id: str, name: str, version: int | None = None) -> None:
        """Delete a registered scorer (every version), or one version that is not the current
        one. Its results (Feedback on traces) stay; its jobs go (a scorer registered again
        under the name starts at version 1 and judges every trace afresh)."""
        scorers, versions, jobs = (
            models.registered_scorers,
            models.scorer_versions,
            models.monitor_jobs,
        )
        key = rows.experiment_key(experiment_id)
        current = self.get(experiment_id, name).version
        with self._db.write() as connection:
            if version is None:
                connection.execute(
                    delete(jobs).where(jobs.c.experiment_id == key, jobs.c.scorer_name == name)
                )
                connection.execute(
                    delete(scorers).where(scorers.c.experiment_id == key, scorers.c.name == name)
                )
                return
            if version == current:
                raise InvalidArgumentError(
                    f"version {version} is scorer {name!r}'s current version: delete the scorer "
                    "(no version), or register a new version first"
                )
            gone = connection.execute(
                delete(versions).where(
                    versions.c.experiment_id == key,
                    versions.c.name == name,
                    versions.c.version == version,
                )
            ).rowcount
            if not gone:
                raise ScorerNotFoundError(f"scorer {name!r} has no version {version}")
            connection.execute(
                delete(jobs).where(
                    jobs.c.experiment_id == key,
                    jobs.c.scorer_name == name,
                    jobs.c.scorer_version == version,
                    jobs.c.state.in_(OPEN_STATES),
                )
            )

    def monitored_experiments(self) -> list[str]:
        """Experiments with at least one registered scorer."""
        scorers = models.registered_scorers
        with self._db.read() as connection:
            found = connection.execute(select(scorers.c.experiment_id).distinct()).scalars()
            return sorted(str(key) for key in found)
