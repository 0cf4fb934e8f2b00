"""The monitor's job queue in SQL: the change feed read into jobs (and backfills), claims,
finishing with Feedback, and the SQLite lease (see ``monitor_sql.py`` for how)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, and_, bindparam, delete, insert, or_, select, update

from evaltrace.entities import Assessment, TraceState
from evaltrace.entities.monitoring import (
    FinishedJob,
    JobOutcome,
    MonitorJob,
    ScorerRegistration,
    is_sampled,
)
from evaltrace.exceptions import MonitorBusyError
from evaltrace.search import parse_filter
from evaltrace.store import assessment_sql, models, rows
from evaltrace.store.monitor_common_sql import (
    CHUNK,
    HOUR_MS,
    Candidate,
    MonitorTables,
    job_key,
    job_where,
)

__all__ = ["MonitorJobsSql"]


class MonitorJobsSql(MonitorTables):
    """Jobs from the feed and backfills; claims and their results; the lease."""

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
            latest: dict[str, Candidate] = {}
            for row in found:
                latest[row.trace_id] = Candidate(row.trace_id, row.state, int(row.request_time))
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
        query = query.order_by(t.c.start_time_ns, t.c.trace_id).limit(CHUNK)
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
                candidates = [Candidate(r.trace_id, r.state, int(r.request_time)) for r in found]
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
        candidates: list[Candidate],
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
            for start in range(0, len(finished), CHUNK):
                connection.execute(
                    delete(jobs).where(
                        jobs.c.trace_id.in_(finished[start : start + CHUNK]),
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
        for start in range(0, len(trace_ids), CHUNK):
            chunk = trace_ids[start : start + CHUNK]
            matching.update(
                connection.execute(
                    select(t.c.trace_id).where(t.c.trace_id.in_(chunk), condition)
                ).scalars()
            )
        return matching

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
            used = self._judged_since(connection, key, now - HOUR_MS)
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
                    .where(*job_where(jobs))
                    .values(
                        state=JobOutcome.CLAIMED.value,
                        claim_token=token,
                        claim_expires=now + int(claim_seconds * 1000),
                        attempts=jobs.c.attempts + 1,
                    ),
                    [job_key(job) for job in taken],
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
                        **job_key(job),
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
                    .where(*job_where(jobs))
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
        for start in range(0, len(ids), CHUNK):
            query = select(jobs.c.trace_id, jobs.c.scorer_name, jobs.c.scorer_version).where(
                jobs.c.claim_token == token,
                jobs.c.state == JobOutcome.CLAIMED.value,
                jobs.c.trace_id.in_(ids[start : start + CHUNK]),
            )
            if self._postgres:
                query = query.with_for_update()
            held.update((r[0], r[1], int(r[2])) for r in connection.execute(query))
        return held

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
