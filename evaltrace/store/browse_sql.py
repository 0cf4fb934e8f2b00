"""What the server and the CLI read and delete beyond the tracing API: the experiments, a
trace's outline (its spans without payloads) and one span, sessions, row counts, retention."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import make_url

from evaltrace.entities import Experiment, Span, TraceInfo
from evaltrace.entities.attribute_keys import SESSION_METADATA_KEY
from evaltrace.exceptions import InvalidArgumentError, TraceNotFoundError
from evaltrace.store import models, rows
from evaltrace.store.database import Database
from evaltrace.store.experiments_sql import load_experiments
from evaltrace.store.results import SessionSummary, SpanOutline, TraceOutline

__all__ = ["SessionSummary", "SpanOutline", "SqlBrowse", "TraceOutline"]

_CHUNK = 500  # trace ids per statement: far below SQLite's bound-parameter limit


_OUTLINE_COLUMNS = ("span_id", "parent_id", "name", "span_type", "status", "start_time_ns")


class SqlBrowse:
    def __init__(self, db: Database, trace_info: Callable[[str], TraceInfo]) -> None:
        self._db = db
        self._trace_info = trace_info

    def experiments(self) -> list[Experiment]:
        """The active experiments (deleted ones are hidden), by id."""
        e = models.experiments
        with self._db.read() as connection:
            found = load_experiments(connection, e.c.lifecycle_stage == "active")
        return sorted(found, key=lambda experiment: int(experiment.experiment_id))

    def outline(self, trace_id: str) -> TraceOutline:
        """The trace's summary and its spans' outline, in two queries that read no payload."""
        s = models.spans
        info = self._trace_info(trace_id)
        with self._db.read() as connection:
            found = connection.execute(
                select(*(s.c[name] for name in _OUTLINE_COLUMNS), s.c.end_time_ns)
                .where(s.c.trace_id == trace_id)
                .order_by(s.c.start_time_ns, s.c.span_id)
            ).all()
        return TraceOutline(info=info, spans=[SpanOutline(**row._mapping) for row in found])

    def trace_names(self, trace_ids: Sequence[str]) -> dict[str, str]:
        """Root span names of these traces (one primary-key lookup each)."""
        t = models.traces
        names: dict[str, str] = {}
        with self._db.read() as connection:
            for start in range(0, len(trace_ids), _CHUNK):
                chunk = list(trace_ids[start : start + _CHUNK])
                query = select(t.c.trace_id, t.c.name).where(t.c.trace_id.in_(chunk))
                names.update({tid: name for tid, name in connection.execute(query) if name})
        return names

    def span(self, trace_id: str, span_id: str) -> Span:
        s = models.spans
        with self._db.read() as connection:
            row = (
                connection.execute(
                    select(s).where(s.c.trace_id == trace_id, s.c.span_id == span_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise TraceNotFoundError(f"span {span_id!r} not found in trace {trace_id!r}")
        return rows.span_from_row(dict(row))

    def sessions(
        self, experiment_id: str, *, max_results: int, offset: int = 0
    ) -> list[SessionSummary]:
        """Sessions (traces sharing ``mlflow.trace.session`` metadata), most recent first;
        ``offset``: skip that many (a page of a long list)."""
        t, m = models.traces, models.trace_metadata
        query = (
            select(
                m.c.value,
                func.count(),
                func.min(t.c.request_time),
                func.max(t.c.request_time),
            )
            .select_from(m.join(t, t.c.trace_id == m.c.trace_id))
            .where(
                m.c.key == SESSION_METADATA_KEY,
                t.c.experiment_id == rows.experiment_key(experiment_id),
            )
            .group_by(m.c.value)
            .order_by(func.max(t.c.request_time).desc(), m.c.value)
            .offset(offset)
            .limit(max_results)
        )
        with self._db.read() as connection:
            return [SessionSummary(*row) for row in connection.execute(query).all()]

    def schema_revision(self) -> str | None:
        """The schema's migration revision."""
        with self._db.read() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if found is None else str(found)

    def size_bytes(self) -> int | None:
        """The database's size on disk (a SQLite file with its WAL; PostgreSQL's database);
        None for an in-memory database."""
        url = make_url(self._db.uri)
        if url.get_backend_name() == "postgresql":
            with self._db.read() as connection:
                size = connection.execute(
                    text("SELECT pg_database_size(current_database())")
                ).scalar()
            return None if size is None else int(size)
        if url.database in (None, "", ":memory:"):
            return None
        paths = (url.database, url.database + "-wal")
        return sum(os.path.getsize(path) for path in paths if os.path.exists(path))

    def row_counts(self) -> dict[str, int]:
        with self._db.read() as connection:
            return {
                name: connection.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in sorted(models.metadata.tables.items())
            }

    def delete_traces(
        self,
        experiment_id: str,
        *,
        max_timestamp_ms: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        """Delete the experiment's traces (with their spans and assessments) matching every
        condition given, oldest first, at most ``max_traces``; returns how many. One
        transaction: a failure deletes nothing."""
        if max_timestamp_ms is None and trace_ids is None:
            raise InvalidArgumentError("give max_timestamp_ms or trace_ids (or both)")
        t = models.traces
        query = select(t.c.trace_id).where(t.c.experiment_id == rows.experiment_key(experiment_id))
        if max_timestamp_ms is not None:
            query = query.where(t.c.request_time < max_timestamp_ms)
        query = query.order_by(t.c.start_time_ns, t.c.trace_id)
        if max_traces is not None:
            query = query.limit(max_traces)
        with self._db.write() as connection:
            if trace_ids is None:
                doomed = list(connection.execute(query).scalars())
            else:
                doomed = []
                for start in range(0, len(trace_ids), _CHUNK):
                    chunk = list(trace_ids[start : start + _CHUNK])
                    doomed.extend(
                        connection.execute(query.where(t.c.trace_id.in_(chunk))).scalars()
                    )
                doomed = doomed[:max_traces] if max_traces is not None else doomed
            for start in range(0, len(doomed), _CHUNK):
                chunk = doomed[start : start + _CHUNK]
                # Children first: cascades work but cost one lookup per row on SQLite.
                s, a = models.spans, models.span_attributes
                of_these_spans = select(s.c.span_pk).where(s.c.trace_id.in_(chunk))
                connection.execute(delete(a).where(a.c.span_pk.in_(of_these_spans)))
                for table in (
                    models.spans,
                    models.assessments,
                    models.trace_tags,
                    models.trace_metadata,
                    models.trace_changes,
                    models.monitor_jobs,
                ):
                    connection.execute(delete(table).where(table.c.trace_id.in_(chunk)))
                connection.execute(delete(t).where(t.c.trace_id.in_(chunk)))
        return len(doomed)
