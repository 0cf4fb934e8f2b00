"""What the monitor reports, read from SQL: status per scorer, scores by time bucket, the
traces judged, attempts and outcomes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from evaltrace.entities import TraceState
from evaltrace.entities.monitoring import (
    JobOutcome,
    ScorerStatus,
)
from evaltrace.store import models, rows
from evaltrace.store.monitor_common_sql import (
    HOUR_MS,
    JUDGED_STATES,
    MonitorTables,
)

__all__ = ["MonitorReportsSql"]


class MonitorReportsSql(MonitorTables):
    """Status, charts and drill-downs over the job table."""

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
            used = self._judged_since(connection, key, now - HOUR_MS)
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
                jobs.c.state.in_(JUDGED_STATES),
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
                jobs.c.state.in_(JUDGED_STATES),
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
