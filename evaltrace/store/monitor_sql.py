"""Production monitoring in SQL: registered scorers, the change feed reader, the job table.

How the worker finds new traces: every trace written (or completed by its root arriving over
OTLP) gets a ``trace_changes`` row. The worker reads them after its checkpoint, in
(commit_xid, change_seq) order, and records one job per (trace, scorer version) with its
outcome. On PostgreSQL it reads only rows whose writing transaction is older than every
transaction still running (``pg_snapshot_xmin``): a sequence number is handed out before its
transaction commits, so "everything after the last number seen" would skip a slow writer's
traces; transaction ids below the snapshot's xmin can no longer appear. On SQLite writes are
serialized, so the sequence is commit order.

Claims: a worker takes pending jobs in one write transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite's BEGIN IMMEDIATE serializes) and marks them with a claim token and an
expiry. It finishes them, with their Feedback, in one transaction that re-checks the token:
a claim that expired and was retaken by another worker is never finished twice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, or_, select, update

from evaltrace._json import dumps_json, loads_json
from evaltrace.entities import Assessment, TraceState
from evaltrace.entities.monitoring import (
    FinishedJob,
    JobOutcome,
    MonitorJob,
    ScorerRegistration,
    ScorerStatus,
    is_sampled,
)
from evaltrace.exceptions import InvalidArgumentError, MonitorBusyError, ScorerNotFoundError
from evaltrace.search import parse_filter
from evaltrace.store import assessment_sql, models, rows
from evaltrace.store.database import Database

__all__ = ["SqlMonitors"]

_CHUNK = 500
_OPEN = (JobOutcome.WAITING.value, JobOutcome.PENDING.value, JobOutcome.CLAIMED.value)
_JUDGED = (JobOutcome.SCORED.value, JobOutcome.ERROR.value)
_HOUR_MS = 3_600_000


def wall_clock_ms() -> int:
    """The monitor's default clock: wall time in epoch milliseconds."""
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class _Candidate:
    trace_id: str
    state: str
    request_time: int


def _job_is(jobs: Any) -> tuple[Any, ...]:
    """The WHERE of one job by its key, as bound parameters (for executemany)."""
    return (
        jobs.c.trace_id == bindparam("key_trace_id"),
        jobs.c.scorer_name == bindparam("key_scorer_name"),
        jobs.c.scorer_version == bindparam("key_scorer_version"),
    )


def _job_key(job: MonitorJob) -> dict[str, Any]:
    return {
        "key_trace_id": job.trace_id,
        "key_scorer_name": job.scorer_name,
        "key_scorer_version": job.scorer_version,
    }


class SqlMonitors:
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

    # -- registered scorers -------------------------------------------------------------------

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

    def _horizon(self, connection: Connection) -> int:
        """PostgreSQL: every transaction id below this one has committed or aborted."""
        return int(
            connection.exec_driver_sql(
                "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
            ).scalar_one()
        )

    def get(self, experiment_id: str, name: str, version: int | None = None) -> ScorerRegistration:
        found = self._registrations(experiment_id, name, version)
        if not found:
            which = f"{name!r}" if version is None else f"{name!r} version {version}"
            raise ScorerNotFoundError(f"no registered scorer {which} in experiment {experiment_id}")
        return found[0]

    def registered(self, experiment_id: str) -> list[ScorerRegistration]:
        return self._registrations(experiment_id, None, None)

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
                    jobs.c.state.in_(_OPEN),
                )
            )

    def monitored_experiments(self) -> list[str]:
        """Experiments with at least one registered scorer."""
        scorers = models.registered_scorers
        with self._db.read() as connection:
            found = connection.execute(select(scorers.c.experiment_id).distinct()).scalars()
            return sorted(str(key) for key in found)

    # -- the feed -----------------------------------------------------------------------------

    def enqueue(self, experiment_id: str, *, limit: int = 1000) -> int:
        """Read up to ``limit`` new changes of the experiment, record each trace's outcome for
        every registered scorer, and move the checkpoint past them, in one transaction.
        Returns how many changes were read (0: the worker is caught up)."""
        ch, t, cp = models.trace_changes, models.traces, models.monitor_checkpoints
        key = rows.experiment_key(experiment_id)
        with self._db.write() as connection:
            checkpoint = select(cp.c.commit_xid, cp.c.change_seq).where(cp.c.experiment_id == key)
            if self._postgres:  # one reader of the feed at a time per experiment
                checkpoint = checkpoint.with_for_update()
            position = connection.execute(checkpoint).first()
            if position is None:  # no scorer was ever started here
                return 0
            xid, seq = int(position[0]), int(position[1])
            query = (
                select(ch.c.commit_xid, ch.c.change_seq, t.c.trace_id, t.c.state, t.c.request_time)
                .join(t, t.c.trace_id == ch.c.trace_id)
                .where(
                    ch.c.experiment_id == key,
                    or_(
                        ch.c.commit_xid > xid,
                        and_(ch.c.commit_xid == xid, ch.c.change_seq > seq),
                    ),
                )
                .order_by(ch.c.commit_xid, ch.c.change_seq)
                .limit(limit)
            )
            if self._postgres:
                query = query.where(ch.c.commit_xid < self._horizon(connection))
            found = connection.execute(query).all()
            if not found:
                return 0
            latest: dict[str, _Candidate] = {}
            for row in found:
                latest[row.trace_id] = _Candidate(row.trace_id, row.state, int(row.request_time))
            self._record_outcomes(connection, key, list(latest.values()), replace_waiting=True)
            last = found[-1]
            connection.execute(
                update(cp)
                .where(cp.c.experiment_id == key)
                .values(
                    commit_xid=last.commit_xid,
                    change_seq=last.change_seq,
                    updated_time=self.clock(),
                )
            )
        return len(found)

    def backfill(
        self,
        experiment_id: str,
        names: Sequence[str],
        *,
        start_time_ms: int | None,
        end_time_ms: int | None,
        filter_string: str | None,
        sample_rates: dict[str, float] | None = None,
    ) -> int:
        """Queue the experiment's traces in [start, end) (and matching the filter) for the
        named scorers' current versions, each with the scorer's own filter and sampling (or
        the rate given). Traces already judged by that version are left alone. Returns how
        many traces were looked at."""
        t = models.traces
        key = rows.experiment_key(experiment_id)
        extra = parse_filter(filter_string) if filter_string else None
        plans = [self.get(experiment_id, name) for name in names]
        query = select(t.c.trace_id, t.c.state, t.c.request_time, t.c.start_time_ns).where(
            t.c.experiment_id == key
        )
        if start_time_ms is not None:
            query = query.where(t.c.request_time >= start_time_ms)
        if end_time_ms is not None:
            query = query.where(t.c.request_time < end_time_ms)
        if extra is not None:
            query = query.where(self._db.filters.compile(extra))
        query = query.order_by(t.c.start_time_ns, t.c.trace_id).limit(_CHUNK)
        seen, after = 0, None
        while True:
            page = query
            if after is not None:
                page = page.where(
                    or_(
                        t.c.start_time_ns > after[0],
                        and_(t.c.start_time_ns == after[0], t.c.trace_id > after[1]),
                    )
                )
            with self._db.write() as connection:
                found = connection.execute(page).all()
                if not found:
                    return seen
                candidates = [_Candidate(r.trace_id, r.state, int(r.request_time)) for r in found]
                self._record_outcomes(
                    connection,
                    key,
                    candidates,
                    replace_waiting=False,
                    plans=plans,
                    sample_rates=sample_rates or {},
                    backfill=True,
                )
            seen += len(found)
            after = (found[-1].start_time_ns, found[-1].trace_id)

    def _record_outcomes(
        self,
        connection: Connection,
        key: int,
        candidates: list[_Candidate],
        *,
        replace_waiting: bool,
        plans: list[ScorerRegistration] | None = None,
        sample_rates: dict[str, float] | None = None,
        backfill: bool = False,
    ) -> None:
        """One job per (trace, scorer's current version), with what was decided: stopped,
        waiting (in progress), filtered out, sampled out, or pending. A trace that was waiting
        is decided again now that it has finished."""
        jobs = models.monitor_jobs
        if plans is None:
            plans = self._current_plans(connection, key)
        if not plans:
            return
        ids = [c.trace_id for c in candidates]
        finished = [c.trace_id for c in candidates if c.state != TraceState.IN_PROGRESS.value]
        if replace_waiting and finished:
            for start in range(0, len(finished), _CHUNK):
                connection.execute(
                    delete(jobs).where(
                        jobs.c.trace_id.in_(finished[start : start + _CHUNK]),
                        jobs.c.state == JobOutcome.WAITING.value,
                    )
                )
        now = self.clock()
        new_rows = []
        for plan in plans:
            matching = self._matching(connection, ids, plan.filter_string)
            rate = (sample_rates or {}).get(plan.name, plan.sample_rate)
            if backfill and plan.state != "active" and plan.name not in (sample_rates or {}):
                rate = 1.0  # a scorer never started (or stopped) backfills every trace
            for candidate in candidates:
                if plan.state != "active" and not backfill:
                    outcome = JobOutcome.STOPPED
                elif candidate.state == TraceState.IN_PROGRESS.value:
                    outcome = JobOutcome.WAITING
                elif matching is not None and candidate.trace_id not in matching:
                    outcome = JobOutcome.FILTERED_OUT
                elif not is_sampled(candidate.trace_id, plan.name, rate):
                    outcome = JobOutcome.SAMPLED_OUT
                else:
                    outcome = JobOutcome.PENDING
                final = outcome not in (JobOutcome.WAITING, JobOutcome.PENDING)
                new_rows.append(
                    (
                        candidate.trace_id,
                        plan.name,
                        plan.version,
                        key,
                        outcome.value,
                        "backfill" if backfill else "feed",
                        candidate.request_time,
                        now,
                        0,
                        0,
                        now if final else None,
                    )
                )
        self._db.insert_ignoring_duplicates(
            connection,
            jobs,
            (
                "trace_id",
                "scorer_name",
                "scorer_version",
                "experiment_id",
                "state",
                "origin",
                "trace_time",
                "created_time",
                "not_before",
                "attempts",
                "finished_time",
            ),
            new_rows,
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

    def _matching(
        self, connection: Connection, trace_ids: list[str], filter_string: str | None
    ) -> set[str] | None:
        """The traces among ``trace_ids`` that match the filter (None: no filter)."""
        expr = parse_filter(filter_string) if filter_string else None
        if expr is None:
            return None
        t = models.traces
        condition = self._db.filters.compile(expr)
        matching: set[str] = set()
        for start in range(0, len(trace_ids), _CHUNK):
            chunk = trace_ids[start : start + _CHUNK]
            matching.update(
                connection.execute(
                    select(t.c.trace_id).where(t.c.trace_id.in_(chunk), condition)
                ).scalars()
            )
        return matching

    # -- claims -------------------------------------------------------------------------------

    def claim(
        self, experiment_id: str, token: str, *, limit: int, claim_seconds: float
    ) -> list[MonitorJob]:
        """Take up to ``limit`` jobs: expired claims first, then pending jobs in arrival
        order, within each scorer's hourly budget. Pending live-traffic jobs of a stopped
        scorer become ``stopped`` here (backfilled ones are still judged)."""
        jobs = models.monitor_jobs
        key = rows.experiment_key(experiment_id)
        now = self.clock()
        taken: list[MonitorJob] = []
        with self._db.write() as connection:
            plans = self._current_plans(connection, key)
            stopped = [p.name for p in plans if p.state != "active"]
            if stopped:
                connection.execute(
                    update(jobs)
                    .where(
                        jobs.c.experiment_id == key,
                        jobs.c.state == JobOutcome.PENDING.value,
                        jobs.c.origin == "feed",
                        jobs.c.scorer_name.in_(stopped),
                    )
                    .values(state=JobOutcome.STOPPED.value, finished_time=now)
                )
            used = self._judged_since(connection, key, now - _HOUR_MS)
            for plan in plans:  # a stopped scorer still judges what was backfilled for it
                if len(taken) >= limit:
                    break
                room = limit - len(taken)
                if plan.max_per_hour is not None:
                    room = min(room, max(0, plan.max_per_hour - used.get(plan.name, 0)))
                for expired in (True, False):
                    if room <= 0:
                        break
                    found = self._claimable(connection, key, plan.name, now, room, expired)
                    taken.extend(found)
                    room -= len(found)
            if taken:  # one executemany: pipelined on PostgreSQL
                connection.execute(
                    update(jobs)
                    .where(*_job_is(jobs))
                    .values(
                        state=JobOutcome.CLAIMED.value,
                        claim_token=token,
                        claim_expires=now + int(claim_seconds * 1000),
                        attempts=jobs.c.attempts + 1,
                    ),
                    [_job_key(job) for job in taken],
                )
        return [
            MonitorJob(j.trace_id, j.experiment_id, j.scorer_name, j.scorer_version, j.attempts + 1)
            for j in taken
        ]

    def _claimable(
        self, connection: Connection, key: int, name: str, now: int, limit: int, expired: bool
    ) -> list[MonitorJob]:
        jobs = models.monitor_jobs
        query = select(
            jobs.c.trace_id, jobs.c.scorer_name, jobs.c.scorer_version, jobs.c.attempts
        ).where(jobs.c.experiment_id == key, jobs.c.scorer_name == name)
        if expired:
            query = query.where(
                jobs.c.state == JobOutcome.CLAIMED.value, jobs.c.claim_expires < now
            )
        else:
            query = query.where(
                jobs.c.state == JobOutcome.PENDING.value, jobs.c.not_before <= now
            ).order_by(jobs.c.created_time, jobs.c.trace_id)
        query = query.limit(limit)
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        return [
            MonitorJob(row.trace_id, str(key), row.scorer_name, row.scorer_version, row.attempts)
            for row in connection.execute(query)
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
                    jobs.c.state.in_(_JUDGED),
                )
                .group_by(jobs.c.scorer_name)
            )
        }

    def finish(self, token: str, results: Sequence[FinishedJob]) -> int:
        """Record results of jobs claimed with ``token``, with their Feedback, in one
        transaction. Jobs no longer held under that token (the claim expired and another
        worker took it) are left to that worker. Returns how many were recorded."""
        if not results:
            return 0
        jobs = models.monitor_jobs
        now = self.clock()
        recorded = 0
        with self._db.write() as connection:
            held = self._held(connection, token, results)
            assessments: list[Assessment] = []
            changes = []
            for result in results:
                job = result.job
                if (job.trace_id, job.scorer_name, job.scorer_version) not in held:
                    continue
                final = result.outcome is not JobOutcome.PENDING
                changes.append(
                    {
                        **_job_key(job),
                        "new_state": result.outcome.value,
                        "new_finished_time": now if final else None,
                        "new_value_num": result.value_num,
                        "new_error": result.error,
                        "new_not_before": result.not_before,
                    }
                )
                assessments.extend(result.assessments)
            if changes:
                connection.execute(
                    update(jobs)
                    .where(*_job_is(jobs))
                    .values(
                        state=bindparam("new_state"),
                        claim_token=None,
                        claim_expires=None,
                        finished_time=bindparam("new_finished_time"),
                        value_num=bindparam("new_value_num"),
                        error=bindparam("new_error"),
                        not_before=bindparam("new_not_before"),
                    ),
                    changes,
                )
            recorded = len(changes)
            assessment_sql.insert_assessments(connection, assessments)
        return recorded

    def _held(
        self, connection: Connection, token: str, results: Sequence[FinishedJob]
    ) -> set[tuple[str, str, int]]:
        jobs = models.monitor_jobs
        ids = sorted({r.job.trace_id for r in results})
        held: set[tuple[str, str, int]] = set()
        for start in range(0, len(ids), _CHUNK):
            query = select(jobs.c.trace_id, jobs.c.scorer_name, jobs.c.scorer_version).where(
                jobs.c.claim_token == token,
                jobs.c.state == JobOutcome.CLAIMED.value,
                jobs.c.trace_id.in_(ids[start : start + _CHUNK]),
            )
            if self._postgres:
                query = query.with_for_update()
            held.update((r[0], r[1], int(r[2])) for r in connection.execute(query))
        return held

    # -- the SQLite lease ---------------------------------------------------------------------

    def take_lease(self, name: str, holder: str, seconds: float) -> None:
        """Hold (or renew) the lease ``name`` for ``seconds``; ``MonitorBusyError`` naming the
        holder if someone else holds it."""
        leases = models.monitor_leases
        now = self.clock()
        with self._db.write() as connection:
            row = connection.execute(
                select(leases.c.holder, leases.c.expires).where(leases.c.name == name)
            ).first()
            if row is not None and row.holder != holder and row.expires > now:
                raise MonitorBusyError(
                    f"another monitor worker ({row.holder}) is running on this SQLite store "
                    f"(its lease runs {(row.expires - now) / 1000:.0f} s more); on SQLite one "
                    "worker runs at a time: use PostgreSQL for several"
                )
            connection.execute(delete(leases).where(leases.c.name == name))
            connection.execute(
                insert(leases).values(name=name, holder=holder, expires=now + int(seconds * 1000))
            )

    def release_lease(self, name: str, holder: str) -> None:
        leases = models.monitor_leases
        with self._db.write() as connection:
            connection.execute(
                delete(leases).where(leases.c.name == name, leases.c.holder == holder)
            )

    # -- what the monitor reports -------------------------------------------------------------

    def status(self, experiment_id: str) -> list[ScorerStatus]:
        """Per registered scorer: outcome counts (all versions), the oldest trace not judged
        yet (open jobs, and changes the feed has not read), the budget."""
        jobs, ch, t, cp = (
            models.monitor_jobs,
            models.trace_changes,
            models.traces,
            models.monitor_checkpoints,
        )
        key = rows.experiment_key(experiment_id)
        now = self.clock()
        with self._db.read() as connection:
            plans = self._current_plans(connection, key)
            counts: dict[str, Counter[str]] = {p.name: Counter() for p in plans}
            for name, state, count in connection.execute(
                select(jobs.c.scorer_name, jobs.c.state, func.count())
                .where(jobs.c.experiment_id == key)
                .group_by(jobs.c.scorer_name, jobs.c.state)
            ):
                counts.setdefault(name, Counter())[state] = int(count)
            oldest_open = dict(
                connection.execute(
                    select(jobs.c.scorer_name, func.min(jobs.c.trace_time))
                    .where(
                        jobs.c.experiment_id == key,
                        jobs.c.state.in_((JobOutcome.PENDING.value, JobOutcome.CLAIMED.value)),
                    )
                    .group_by(jobs.c.scorer_name)
                ).all()
            )
            position = connection.execute(
                select(cp.c.commit_xid, cp.c.change_seq).where(cp.c.experiment_id == key)
            ).first()
            unread = None
            if position is not None:
                unread = connection.execute(
                    select(func.min(t.c.request_time))
                    .select_from(ch.join(t, t.c.trace_id == ch.c.trace_id))
                    .where(
                        ch.c.experiment_id == key,
                        or_(
                            ch.c.commit_xid > position[0],
                            and_(ch.c.commit_xid == position[0], ch.c.change_seq > position[1]),
                        ),
                        t.c.state != TraceState.IN_PROGRESS.value,
                    )
                ).scalar()
            used = self._judged_since(connection, key, now - _HOUR_MS)
            last_errors = {
                plan.name: self._last_error(connection, key, plan.name) for plan in plans
            }
        report = []
        for plan in plans:
            candidates = [oldest_open.get(plan.name)]
            if plan.state == "active":
                candidates.append(unread)
            known = [int(c) for c in candidates if c is not None]
            oldest = min(known) if known else None
            judged = used.get(plan.name, 0)
            report.append(
                ScorerStatus(
                    experiment_id=str(key),
                    name=plan.name,
                    version=plan.version,
                    state=plan.state,
                    sample_rate=plan.sample_rate,
                    filter_string=plan.filter_string,
                    counts=dict(counts.get(plan.name, {})),
                    oldest_unscored_ms=oldest,
                    lag_seconds=max(0.0, (now - oldest) / 1000) if oldest is not None else 0.0,
                    paused_by_budget=plan.max_per_hour is not None
                    and judged >= plan.max_per_hour
                    and bool(oldest_open.get(plan.name)),
                    judged_last_hour=judged,
                    max_per_hour=plan.max_per_hour,
                    last_error=last_errors[plan.name][0],
                    last_error_time_ms=last_errors[plan.name][1],
                )
            )
        return report

    def _last_error(
        self, connection: Connection, key: int, name: str
    ) -> tuple[str | None, int | None]:
        """The newest error outcome of the scorer (any version): message and when."""
        jobs = models.monitor_jobs
        found = connection.execute(
            select(jobs.c.error, jobs.c.finished_time)
            .where(
                jobs.c.experiment_id == key,
                jobs.c.state == JobOutcome.ERROR.value,
                jobs.c.scorer_name == name,
            )
            .order_by(jobs.c.finished_time.desc())
            .limit(1)
        ).first()
        return (None, None) if found is None else (found[0], found[1])

    def score_buckets(
        self, experiment_id: str, name: str, *, bucket_ms: int, since_ms: int
    ) -> list[dict[str, Any]]:
        """The scorer's judgments by trace time bucket: count, mean numeric score, errors."""
        jobs = models.monitor_jobs
        key = rows.experiment_key(experiment_id)
        bucket = (jobs.c.trace_time // bucket_ms).label("bucket")
        scored = func.sum(case((jobs.c.state == JobOutcome.SCORED.value, 1), else_=0))
        errors = func.sum(case((jobs.c.state == JobOutcome.ERROR.value, 1), else_=0))
        query = (
            select(
                bucket,
                scored.label("scored"),
                errors.label("errors"),
                func.avg(jobs.c.value_num).label("mean"),
            )
            .where(
                jobs.c.experiment_id == key,
                jobs.c.scorer_name == name,
                jobs.c.trace_time >= since_ms,
                jobs.c.state.in_(_JUDGED),
            )
            .group_by(bucket)
            .order_by(bucket)
        )
        with self._db.read() as connection:
            return [
                {
                    "start_ms": int(row.bucket) * bucket_ms,
                    "scored": int(row.scored or 0),
                    "errors": int(row.errors or 0),
                    "mean": None if row.mean is None else float(row.mean),
                }
                for row in connection.execute(query)
            ]

    def judged_traces(
        self, experiment_id: str, name: str, *, start_ms: int, end_ms: int, limit: int = 200
    ) -> list[dict[str, Any]]:
        """The traces behind one bucket: each with the scorer's result."""
        jobs, t = models.monitor_jobs, models.traces
        key = rows.experiment_key(experiment_id)
        query = (
            select(
                jobs.c.trace_id,
                jobs.c.scorer_version,
                jobs.c.state,
                jobs.c.value_num,
                jobs.c.error,
                jobs.c.trace_time,
                t.c.name,
                t.c.request_preview,
            )
            .join(t, t.c.trace_id == jobs.c.trace_id)
            .where(
                jobs.c.experiment_id == key,
                jobs.c.scorer_name == name,
                jobs.c.trace_time >= start_ms,
                jobs.c.trace_time < end_ms,
                jobs.c.state.in_(_JUDGED),
            )
            .order_by(jobs.c.trace_time.desc(), jobs.c.trace_id)
            .limit(limit)
        )
        with self._db.read() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def attempts(self, experiment_id: str) -> dict[tuple[str, str, int], int]:
        """How many times each job was claimed, by (trace id, scorer name, version)."""
        jobs = models.monitor_jobs
        key = rows.experiment_key(experiment_id)
        with self._db.read() as connection:
            return {
                (r.trace_id, r.scorer_name, int(r.scorer_version)): int(r.attempts)
                for r in connection.execute(
                    select(
                        jobs.c.trace_id, jobs.c.scorer_name, jobs.c.scorer_version, jobs.c.attempts
                    ).where(jobs.c.experiment_id == key)
                )
            }

    def outcomes(self, experiment_id: str) -> dict[tuple[str, str, int], str]:
        """Every job's outcome, by (trace id, scorer name, version): for reconciling counts."""
        jobs = models.monitor_jobs
        key = rows.experiment_key(experiment_id)
        with self._db.read() as connection:
            return {
                (r.trace_id, r.scorer_name, int(r.scorer_version)): r.state
                for r in connection.execute(
                    select(
                        jobs.c.trace_id, jobs.c.scorer_name, jobs.c.scorer_version, jobs.c.state
                    ).where(jobs.c.experiment_id == key)
                )
            }
