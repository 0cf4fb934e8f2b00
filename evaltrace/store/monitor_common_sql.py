"""What the monitor store's three rooms share: the tables' constants, the clock, and the
queries both the job queue and the reports ask (the plans in force, judgments per hour).

The monitor store as a whole is described in ``monitor_sql.py``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select

from evaltrace._json import loads_json
from evaltrace.entities.monitoring import (
    JobOutcome,
    MonitorJob,
    ScorerRegistration,
)
from evaltrace.exceptions import ScorerNotFoundError
from evaltrace.store import models, rows
from evaltrace.store.database import Database

__all__ = [
    "CHUNK",
    "HOUR_MS",
    "JUDGED_STATES",
    "OPEN_STATES",
    "Candidate",
    "MonitorTables",
    "job_key",
    "job_where",
    "wall_clock_ms",
]

CHUNK = 500
OPEN_STATES = (JobOutcome.WAITING.value, JobOutcome.PENDING.value, JobOutcome.CLAIMED.value)
JUDGED_STATES = (JobOutcome.SCORED.value, JobOutcome.ERROR.value)
HOUR_MS = 3_600_000


def wall_clock_ms() -> int:
    """The monitor's default clock: wall time in epoch milliseconds."""
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Candidate:
    trace_id: str
    state: str
    request_time: int


def job_where(jobs: Any) -> tuple[Any, ...]:
    """The WHERE of one job by its key, as bound parameters (for executemany)."""
    return (
        jobs.c.trace_id == bindparam("key_trace_id"),
        jobs.c.scorer_name == bindparam("key_scorer_name"),
        jobs.c.scorer_version == bindparam("key_scorer_version"),
    )


def job_key(job: MonitorJob) -> dict[str, Any]:
    return {
        "key_trace_id": job.trace_id,
        "key_scorer_name": job.scorer_name,
        "key_scorer_version": job.scorer_version,
    }


class MonitorTables:
    """The monitor store's database and clock, and the queries its rooms share."""

    def __init__(self, db: Database, clock: Callable[[], int] = wall_clock_ms) -> None:
        self._db = db
        # Every time the monitor reads or writes (claims, leases, back-offs, budgets) comes
        # from here: tests move it instead of sleeping (tests/monitoring/clock.py).
        self.clock = clock

    def now_ms(self) -> int:
        return self.clock()

    @property
    def _postgres(self) -> bool:
        return bool(self._db.dialect == "postgresql")

    def _horizon(self, connection: Connection) -> int:
        """PostgreSQL: every transaction id below this one has committed or aborted."""
        return int(
            connection.exec_driver_sql(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
            ).scalar_one()
        )

    def _current_plans(self, connection: Connection, key: int) -> list[ScorerRegistration]:
        scorers = models.registered_scorers
        found = connection.execute(select(scorers).where(scorers.c.experiment_id == key)).mappings()
        return [
            ScorerRegistration(
                experiment_id=str(key),
                name=row["name"],
                version=int(row["version"]),
                state=row["state"],
                sample_rate=float(row["sample_rate"]),
                filter_string=row["filter_string"],
                max_per_hour=row["max_per_hour"],
                max_concurrency=row["max_concurrency"],
                kind="",
                definition={},
                created_time_ms=int(row["created_time"]),
                updated_time_ms=int(row["updated_time"]),
            )
            for row in found
        ]

    def _judged_since(self, connection: Connection, key: int, since: int) -> dict[str, int]:
        jobs = models.monitor_jobs
        return {
            name: int(count)
            for name, count in connection.execute(
                select(jobs.c.scorer_name, func.count())
                .where(
                    jobs.c.experiment_id == key,
                    jobs.c.finished_time >= since,
                    jobs.c.state.in_(JUDGED_STATES),
                )
                .group_by(jobs.c.scorer_name)
            )
        }

    def get(self, experiment_id: str, name: str, version: int | None = None) -> ScorerRegistration:
        found = self._registrations(experiment_id, name, version)
        if not found:
            which = f"{name!r}" if version is None else f"{name!r} version {version}"
            raise ScorerNotFoundError(f"no registered scorer {which} in experiment {experiment_id}")
        return found[0]

    def _registrations(
        self, experiment_id: str, name: str | None, version: int | None
    ) -> list[ScorerRegistration]:
        scorers, versions = models.registered_scorers, models.scorer_versions
        key = rows.experiment_key(experiment_id)
        wanted_version = versions.c.version == (scorers.c.version if version is None else version)
        query = (
            select(scorers, versions.c.kind, versions.c.definition, versions.c.version.label("v"))
            .join(
                versions,
                and_(
                    versions.c.experiment_id == scorers.c.experiment_id,
                    versions.c.name == scorers.c.name,
                    wanted_version,
                ),
            )
            .where(scorers.c.experiment_id == key)
            .order_by(scorers.c.name)
        )
        if name is not None:
            query = query.where(scorers.c.name == name)
        with self._db.read() as connection:
            found = connection.execute(query).mappings().all()
        return [
            ScorerRegistration(
                experiment_id=str(row["experiment_id"]),
                name=row["name"],
                version=int(row["v"]),
                state=row["state"],
                sample_rate=float(row["sample_rate"]),
                filter_string=row["filter_string"],
                max_per_hour=row["max_per_hour"],
                max_concurrency=row["max_concurrency"],
                kind=row["kind"],
                definition=loads_json(row["definition"]),
                created_time_ms=int(row["created_time"]),
                updated_time_ms=int(row["updated_time"]),
            )
            for row in found
        ]
