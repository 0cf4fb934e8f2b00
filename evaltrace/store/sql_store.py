"""The SQLAlchemy implementation of :class:`TraceStore` (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnClause,
    Connection,
    Engine,
    Table,
    and_,
    delete,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import (
    IntegrityError,
)

from evaltrace._config import get_settings
from evaltrace.entities import Assessment, Experiment, Span, Trace, TraceInfo
from evaltrace.exceptions import (
    AssessmentNotFoundError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    NotFoundError,
    StoreError,
    TraceNotFoundError,
)
from evaltrace.search import Expr, Key, KeyKind, OrderKey
from evaltrace.search.keys import TRACE_FIELDS, KeyType
from evaltrace.store import assessment_sql, models, rows
from evaltrace.store.base import TracePage, TraceStore
from evaltrace.store.browse_sql import SqlBrowse
from evaltrace.store.database import Database
from evaltrace.store.dataset_sql import SqlDatasets
from evaltrace.store.experiments_sql import SqlExperiments, load_experiments
from evaltrace.store.labeling_sql import SqlLabeling
from evaltrace.store.monitor_sql import SqlMonitors
from evaltrace.store.prompts_sql import SqlPrompts
from evaltrace.store.run_sql import SqlRuns
from evaltrace.store.trace_rows import SUMMED_ATTRIBUTES, TraceRows, traces_rows

__all__ = ["SqlStore"]

_FIRST_ANALYZE = 1000
_SQLITE_ANALYSIS_LIMIT = 1000  # rows sampled per index: approximate stats in milliseconds

# SQLite allows 32766 bound parameters per statement; stay well below for IN lists.
_IN_CHUNK = 900
# A filter value matched by fewer rows than this is rare: the search starts from its index.
_RARE = 1000
# Tables the trace path inserts into, in order (a trace before its spans), with their columns;
# spans and their attributes follow, once their keys are allocated (SqlStore._insert_rows).
_ROW_TABLES = (
    (models.traces, rows.TRACE_COLUMNS),
    (models.trace_changes, rows.CHANGE_COLUMNS),
    (models.trace_tags, rows.KEY_VALUE_COLUMNS),
    (models.trace_metadata, rows.KEY_VALUE_COLUMNS),
)


@dataclass
class _Rows:
    """Rows to write, by table name; each span's row with its attribute rows apart, as both
    wait for the span's key (given in the write transaction)."""

    tables: dict[str, list[rows.Row]] = field(default_factory=dict)
    spans: list[tuple[rows.Row, list[rows.Row]]] = field(default_factory=list)
    assessments: list[dict[str, Any]] = field(default_factory=list)


def _rows_of(traces: Sequence[TraceRows]) -> _Rows:
    """The rows of whole traces, by table."""
    trace_rows = [trace.trace_row for trace in traces]
    tables = {
        models.traces.name: trace_rows,
        models.trace_changes.name: [rows.change_row(row) for row in trace_rows],
        models.trace_tags.name: [row for trace in traces for row in trace.tag_rows],
        models.trace_metadata.name: [row for trace in traces for row in trace.metadata_rows],
    }
    return _Rows(
        tables,
        [span for trace in traces for span in trace.spans],
        [row for trace in traces for row in trace.assessment_rows],
    )


def _in_chunks(ids: Iterable[str]) -> Iterator[list[str]]:
    """The distinct ids, sorted, in lists short enough for one IN (...) each."""
    unique = sorted(set(ids))
    for start in range(0, len(unique), _IN_CHUNK):
        yield unique[start : start + _IN_CHUNK]


class SqlStore(TraceStore):
    def __init__(self, uri: str, *, timeout: float | None = None) -> None:
        """``timeout``: seconds a call may take before it fails with ``StoreUnavailableError``
        (default: the ``store_timeout`` setting; 0: no bound)."""
        self.db = Database(uri, get_settings().store_timeout if timeout is None else timeout)
        self.uri = uri
        self.datasets = SqlDatasets(self.db)
        self.experiments = SqlExperiments(self.db)
        self.prompts = SqlPrompts(self.db)
        self.runs = SqlRuns(self.db)
        self.browse = SqlBrowse(self.db, self.get_trace_info)
        self.labeling = SqlLabeling(self.db)
        self.monitors = SqlMonitors(self.db)
        self._written_since_analyze = 0
        self._next_analyze = _FIRST_ANALYZE

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (``evaltrace db`` and tests read the schema through it)."""
        return self.db.engine

    @property
    def timeout(self) -> float:
        return self.db.timeout

    def set_timeout(self, seconds: float) -> None:
        self.db.set_timeout(seconds)

    def close(self) -> None:
        self.db.close()

    @property
    def one_writer_at_a_time(self) -> bool:
        return self.db.dialect == "sqlite"

    def expect_heavy_writes(self) -> None:
        self.db.checkpoint_in_background()

    def after_fork_in_child(self) -> None:
        self.engine.dispose(close=False)  # the parent's connections stay the parent's

    # -- traces -------------------------------------------------------------------------------

    def write_traces(self, traces: Sequence[Trace]) -> None:
        if not traces:
            return
        tables = _rows_of(traces_rows(traces))
        with self.db.write() as connection:
            self.db.lock_traces(connection, [trace.info.trace_id for trace in traces])
            self._insert_rows(connection, tables)
        self._counted_for_analyze(len(traces))

    def stored_experiments(self, trace_ids: Sequence[str]) -> dict[str, str]:
        t = models.traces
        found: dict[str, str] = {}
        with self.db.read() as connection:
            for chunk in _in_chunks(list(trace_ids)):
                query = select(t.c.trace_id, t.c.experiment_id).where(t.c.trace_id.in_(chunk))
                found.update((tid, str(key)) for tid, key in connection.execute(query))
        return found

    def append_spans(self, spans: Sequence[Span]) -> None:
        if not spans:
            return
        trace_ids = sorted({span.trace_id for span in spans})
        with self.db.write() as connection:
            self.db.lock_traces(connection, trace_ids)
            stored = self._stored_trace_ids(connection, trace_ids)
            missing = [trace_id for trace_id in trace_ids if trace_id not in stored]
            if missing:
                raise TraceNotFoundError(f"cannot add spans to trace(s) not stored: {missing}")
            self._insert_rows(
                connection,
                _Rows(spans=[(rows.span_to_row(s), rows.span_attribute_rows(s)) for s in spans]),
            )
            self._sum_usage_again(connection, trace_ids)

    def merge_traces(self, traces: Sequence[Trace]) -> None:
        """Traces that arrive in parts (OTLP batches, in any order, maybe twice), in one
        transaction. A trace not stored yet is written as given. One stored already keeps its
        experiment and gets the part's new spans (re-sent ones are ignored), tags and
        metadata; its summary (name, times, state, previews) from the part when the part holds
        its root (state not IN_PROGRESS), and its token usage and cost summed again over all
        its stored spans. Several parts of one trace are merged one after the other."""
        self.merge_rows(traces_rows(traces))

    def merge_rows(self, traces: Sequence[TraceRows]) -> None:
        """merge_traces for parts already turned into rows (by OTLP ingest's workers)."""
        if not traces:
            return
        with self.db.write() as connection:
            created = self._merge_rows(connection, traces)
        self._counted_for_analyze(created)

    def merge_row_shares(self, shares: Iterable[Sequence[TraceRows]]) -> None:
        """merge_rows for one request's traces coming share by share (no trace in two shares),
        in one transaction: a commit has a fixed cost (on SQLite the pages rows append to are
        written again each time: in an in-process profile, four commits a 512-span request cost
        the writer 40% more than one). SQLite: each share written as it comes (there is one
        writer anyway).
        PostgreSQL: the shares gathered first, so the transaction takes its trace locks in one
        sorted go (share by share, two requests could take them in opposite orders). What the
        iteration raises, this raises, and nothing of the request is written."""
        if self.db.dialect != "sqlite":
            self.merge_rows([trace for traces in shares for trace in traces])
            return
        created = 0
        with self.db.write() as connection:
            for traces in shares:
                created += self._merge_rows(connection, traces)
        self._counted_for_analyze(created)

    def _merge_rows(self, connection: Connection, traces: Sequence[TraceRows]) -> int:
        """Merge parts in rounds (the k-th part of each trace in round k); returns how many
        traces were new."""
        rounds: list[list[TraceRows]] = []
        seen: dict[str, int] = {}
        for trace in traces:
            k = seen[trace.trace_id] = seen.get(trace.trace_id, -1) + 1
            if k == len(rounds):
                rounds.append([])
            rounds[k].append(trace)
        self.db.lock_traces(connection, list(seen))
        return sum(self._merge_round(connection, parts) for parts in rounds)

    def _merge_round(self, connection: Connection, traces: list[TraceRows]) -> int:
        """Merge parts of distinct traces; returns how many traces were new."""
        stored = self._stored_trace_ids(connection, [t.trace_id for t in traces])
        new = [t for t in traces if t.trace_id not in stored]
        parts = [t for t in traces if t.trace_id in stored]
        self._insert_rows(connection, _rows_of(new), may_be_stored=False)
        if not parts:
            return len(new)
        tables = _rows_of(parts)
        del tables.tables[models.traces.name]  # stored: updated from its root
        del tables.tables[models.trace_changes.name]  # a stored trace changes when its root comes
        self._insert_rows(connection, tables)
        t = models.traces
        completed = []
        for part in parts:
            if part.in_progress:
                continue
            completed.append(part.trace_id)
            columns = dict(zip(rows.TRACE_COLUMNS, part.trace_row))
            summary = {key: columns[key] for key in rows.ROOT_SUMMARY_COLUMNS}
            connection.execute(update(t).where(t.c.trace_id == part.trace_id).values(**summary))
        if completed:  # the monitor worker sees the trace again, now finished
            changes = models.trace_changes
            connection.execute(
                changes.insert().from_select(
                    ["experiment_id", "trace_id"],
                    select(t.c.experiment_id, t.c.trace_id).where(t.c.trace_id.in_(completed)),
                )
            )
        self._sum_usage_again(
            connection, sorted(part.trace_id for part in parts if part.sums_usage)
        )
        return len(new)

    def _stored_trace_ids(self, connection: Connection, trace_ids: Sequence[str]) -> set[str]:
        t = models.traces
        found: set[str] = set()
        for chunk in _in_chunks(trace_ids):
            found.update(
                connection.execute(select(t.c.trace_id).where(t.c.trace_id.in_(chunk))).scalars()
            )
        return found

    def _insert_rows(
        self, connection: Connection, to_write: _Rows, *, may_be_stored: bool = True
    ) -> None:
        """Rows of traces and spans; what is stored already is left as it is (a trace written
        twice, a span sent again). ``may_be_stored=False``: the caller knows none of the
        traces is stored (so none of their spans), which saves looking."""
        for table, columns in _ROW_TABLES:
            table_rows = to_write.tables.get(table.name)
            if table_rows:
                self.db.insert_ignoring_duplicates(connection, table, columns, table_rows)
        spans: dict[tuple[str, str], tuple[rows.Row, list[rows.Row]]] = {}
        for span in to_write.spans:
            spans.setdefault((span[0][0], span[0][1]), span)  # the row starts trace_id, span_id
        if may_be_stored and spans:
            for stored in self._stored_span_ids(connection, {key[0] for key in spans}):
                spans.pop(stored, None)
        keys = self.db.allocate_span_keys(connection, len(spans))
        span_rows = [(key, *row) for key, (row, _) in zip(keys, spans.values())]
        attribute_rows = [
            (key, *attribute)
            for key, (_, attributes) in zip(keys, spans.values())
            for attribute in attributes
        ]
        if span_rows:
            self.db.insert_new_rows(connection, models.spans, rows.SPAN_COLUMNS, span_rows)
        if attribute_rows:
            self.db.insert_new_rows(
                connection, models.span_attributes, rows.SPAN_ATTRIBUTE_COLUMNS, attribute_rows
            )
        if to_write.assessments:  # ignoring duplicates: a trace written twice is one trace
            columns = tuple(to_write.assessments[0])
            self.db.insert_ignoring_duplicates(
                connection,
                models.assessments,
                columns,
                [tuple(row[c] for c in columns) for row in to_write.assessments],
            )

    def _stored_span_ids(self, connection: Connection, trace_ids: set[str]) -> set[tuple[str, str]]:
        """(trace_id, span_id) of the stored spans of these traces."""
        s = models.spans
        found: set[tuple[str, str]] = set()
        for chunk in _in_chunks(trace_ids):
            query = select(s.c.trace_id, s.c.span_id).where(s.c.trace_id.in_(chunk))
            found.update((trace_id, span_id) for trace_id, span_id in connection.execute(query))
        return found

    def _sum_usage_again(self, connection: Connection, trace_ids: Sequence[str]) -> None:
        """Token usage and cost of each trace, summed over all its stored spans."""
        if not trace_ids:
            return
        t, s, a = models.traces, models.spans, models.span_attributes
        totals: dict[str, dict[str, Any]] = defaultdict(dict)
        for chunk in _in_chunks(trace_ids):
            for trace_id, key, total in connection.execute(
                select(s.c.trace_id, a.c.key, func.sum(a.c.value_num))
                .select_from(a.join(s, s.c.span_pk == a.c.span_pk))
                .where(s.c.trace_id.in_(chunk), a.c.key.in_(SUMMED_ATTRIBUTES))
                .group_by(s.c.trace_id, a.c.key)
            ):
                totals[trace_id][SUMMED_ATTRIBUTES[key]] = total
        for trace_id, usage in totals.items():
            connection.execute(
                update(t).where(t.c.trace_id == trace_id).values(**rows.usage_columns(usage))
            )

    def _counted_for_analyze(self, traces: int) -> None:
        self._written_since_analyze += traces
        if self._written_since_analyze >= self._next_analyze:
            self.analyze()

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        t, tags = models.traces, models.trace_tags
        with self.db.write() as connection:
            if (
                connection.execute(select(t.c.trace_id).where(t.c.trace_id == trace_id)).first()
                is None
            ):
                raise TraceNotFoundError(f"trace {trace_id!r} not found")
            connection.execute(delete(tags).where(tags.c.trace_id == trace_id, tags.c.key == key))
            connection.execute(tags.insert().values(trace_id=trace_id, key=key, value=value))

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        tags = models.trace_tags
        with self.db.write() as connection:
            gone = connection.execute(
                delete(tags).where(tags.c.trace_id == trace_id, tags.c.key == key)
            ).rowcount
            if not gone:
                raise NotFoundError(f"trace {trace_id!r} has no tag {key!r}")

    def analyze(self) -> None:
        """Refresh the query planner's statistics.

        Without them SQLite picks the (type, duration) index for a correlated span condition
        and scans every matching span once per trace. Run on a doubling schedule of traces
        written by this process, so the cost stays a tiny fraction of the writes.
        """
        with self.db.write() as connection:
            if self.db.dialect == "sqlite":
                connection.exec_driver_sql(f"PRAGMA analysis_limit={_SQLITE_ANALYSIS_LIMIT}")
                connection.exec_driver_sql("ANALYZE")
            else:
                connection.exec_driver_sql("ANALYZE " + ", ".join(models.metadata.tables))
        self._next_analyze = max(self._next_analyze * 2, self._written_since_analyze * 2)

    def get_trace(self, trace_id: str, *, include_spans: bool = True) -> Trace:
        if not isinstance(trace_id, str) or not trace_id:
            raise InvalidArgumentError(f"trace_id must be a non-empty string, got {trace_id!r}")
        with self.db.read() as connection:
            row = (
                connection.execute(
                    select(models.traces).where(models.traces.c.trace_id == trace_id)
                )
                .mappings()
                .first()
            )
            if row is None:
                raise TraceNotFoundError(f"trace {trace_id!r} not found")
            return self._load_traces(connection, [row], include_spans=include_spans)[0]

    def get_traces(self, trace_ids: Sequence[str]) -> list[Trace]:
        """The stored ones of these traces, with their spans, in a few queries (ids not
        stored are left out)."""
        t = models.traces
        found: list[Trace] = []
        with self.db.read() as connection:
            for chunk in _in_chunks(trace_ids):
                page = connection.execute(select(t).where(t.c.trace_id.in_(chunk))).mappings().all()
                found.extend(self._load_traces(connection, page, include_spans=True))
        return found

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        """The trace's summary, tags, metadata and assessments, without its spans."""
        return self.get_trace(trace_id, include_spans=False).info

    def search_traces(
        self,
        experiment_ids: Sequence[str],
        *,
        filter: Expr | None = None,
        order_by: Sequence[OrderKey] = (),
        max_results: int,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> TracePage:
        t = models.traces
        keys = self._sort_keys(order_by)
        query = select(
            t, *(expression.label(f"_sort{i}") for i, (expression, _) in enumerate(keys))
        )
        query = query.where(t.c.experiment_id.in_([rows.experiment_key(e) for e in experiment_ids]))
        if filter is not None:
            query = query.where(self.db.filters.compile(filter))
        signature = [str(key) for key in order_by]
        if page_token is not None:
            after = decode_page_token(page_token, signature, [expr for expr, _ in keys])
            query = query.where(keyset_after(keys, after))
        query = query.order_by(
            *(_ordered(expression, descending) for expression, descending in keys)
        )
        query = query.limit(max_results + 1)
        with self.db.read() as connection:
            if filter is not None:
                for ids in self._rare_value_subqueries(connection, filter):
                    query = query.where(t.c.trace_id.in_(ids))
            found = connection.execute(query).mappings().all()
            page, more = found[:max_results], len(found) > max_results
            traces = self._load_traces(connection, page, include_spans=include_spans)
        next_token = None
        if more and page:
            last = page[-1]
            next_token = encode_page_token(signature, [last[f"_sort{i}"] for i in range(len(keys))])
        return TracePage(traces=traces, next_page_token=next_token)

    def _rare_value_subqueries(self, connection: Connection, filter: Expr) -> list[Any]:
        """The filter's narrowing subqueries (see FilterCompiler) whose values are rare: fewer
        than _RARE matching rows, counted from the value index and stopping at _RARE.

        SQLite only: its planner always runs EXISTS per trace, so a rare value meant reading
        every trace (630 ms at 100,000 traces, 2 ms with the subquery: bench_search.py).
        PostgreSQL's planner already weighs both ways, and was a little slower with the probe.
        """
        if self.db.dialect != "sqlite":
            return []
        rare = []
        for ids in self.db.filters.narrowing_subqueries(filter):
            probe = select(func.count()).select_from(ids.limit(_RARE).subquery())
            if connection.execute(probe).scalar_one() < _RARE:
                rare.append(ids)
        return rare

    def _sort_keys(self, order_by: Sequence[OrderKey]) -> list[tuple[Any, bool]]:
        """(expression, descending) per sort key, ending with the trace id as tie-breaker."""
        t = models.traces
        if not order_by:
            return [(t.c.start_time_ns, True), (t.c.trace_id, True)]  # never NULL
        keys = [(self._sort_expression(key.key), key.descending) for key in order_by]
        return [*keys, (t.c.trace_id, order_by[-1].descending)]

    def _sort_expression(self, key: Key) -> Any:
        t = models.traces
        column: Any
        if key.kind is KeyKind.ATTRIBUTE:
            column = t.c[_SORT_COLUMNS[key.name]]
        else:
            side = models.trace_tags if key.kind is KeyKind.TAG else models.trace_metadata
            column = (
                select(side.c.value)
                .where(side.c.trace_id == t.c.trace_id, side.c.key == key.name)
                .scalar_subquery()
            )
        numeric = key.kind is KeyKind.ATTRIBUTE and key.name in _NUMERIC_SORT
        if self.db.dialect == "postgresql" and not numeric:
            column = column.collate("C")
        return column

    def _load_traces(
        self, connection: Connection, trace_rows: Sequence[Any], *, include_spans: bool
    ) -> list[Trace]:
        ids = [row["trace_id"] for row in trace_rows]
        tags = _children_by_trace(connection, models.trace_tags, ids)
        metadata = _children_by_trace(connection, models.trace_metadata, ids)
        spans = _children_by_trace(connection, models.spans, ids) if include_spans else {}
        assessments = _children_by_trace(connection, models.assessments, ids)
        traces = []
        for row in trace_rows:
            trace_id = row["trace_id"]
            info: TraceInfo = rows.trace_info_from_row(
                row,
                tags.get(trace_id, ()),
                metadata.get(trace_id, ()),
                sorted(
                    (assessment_sql.assessment_from_row(a) for a in assessments.get(trace_id, ())),
                    key=lambda a: (a.create_time_ms, a.assessment_id),
                ),
            )
            traces.append(rows.trace_from_rows(info, spans.get(trace_id, ())))
        return traces

    # -- assessments --------------------------------------------------------------------------

    def log_assessments(self, assessments: Sequence[Assessment]) -> None:
        """Insert assessments in one transaction, after checking their traces and spans."""
        with self.db.write() as connection:
            self._check_targets(connection, assessments)
            assessment_sql.insert_assessments(connection, assessments)

    def _check_targets(self, connection: Connection, assessments: Sequence[Assessment]) -> None:
        def where(i: int) -> str:
            return f"record {i}: " if len(assessments) > 1 else ""

        traces = assessment_sql.existing_traces(connection, (a.trace_id for a in assessments))
        for i, a in enumerate(assessments):
            if a.trace_id not in traces:
                raise TraceNotFoundError(f"{where(i)}trace_id {a.trace_id!r} not found")
        spans = assessment_sql.existing_spans(
            connection, ((a.trace_id, a.span_id) for a in assessments if a.span_id is not None)
        )
        for i, a in enumerate(assessments):
            if a.span_id is not None and (a.trace_id, a.span_id) not in spans:
                raise InvalidArgumentError(
                    f"{where(i)}span_id {a.span_id!r} is not a span of trace {a.trace_id!r}"
                )

    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        with self.db.read() as connection:
            return self._assessment(connection, trace_id, assessment_id)

    def _assessment(self, connection: Connection, trace_id: str, assessment_id: str) -> Assessment:
        a = models.assessments
        row = (
            connection.execute(
                select(a).where(a.c.assessment_id == assessment_id, a.c.trace_id == trace_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise AssessmentNotFoundError(
                f"assessment {assessment_id!r} not found on trace {trace_id!r}"
            )
        return assessment_sql.assessment_from_row(row)

    def supersede_assessment(self, old: Assessment, new: Assessment) -> None:
        """Mark ``old`` invalid and insert ``new`` (which names ``old`` in ``overrides``)."""
        with self.db.write() as connection:
            current = self._assessment(connection, old.trace_id, old.assessment_id)
            if not current.valid:
                raise InvalidArgumentError(
                    f"assessment {old.assessment_id!r} was already overridden; "
                    "change the newest one (see get_assessment_history)"
                )
            self._check_targets(connection, [new])
            assessment_sql.set_valid(connection, old.assessment_id, valid=False)
            assessment_sql.insert_assessments(connection, [new])

    def replace_assessment(self, assessment: Assessment) -> None:
        """Rewrite one assessment in place (same id)."""
        a = models.assessments
        row = assessment_sql.assessment_to_row(assessment)
        with self.db.write() as connection:
            connection.execute(
                update(a).where(a.c.assessment_id == assessment.assessment_id).values(**row)
            )

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        """Delete it; the assessment it had overridden becomes valid again."""
        a = models.assessments
        with self.db.write() as connection:
            doomed = self._assessment(connection, trace_id, assessment_id)
            connection.execute(delete(a).where(a.c.assessment_id == assessment_id))
            if doomed.overrides is not None and doomed.valid:
                assessment_sql.set_valid(connection, doomed.overrides, valid=True)

    def assessment_history(self, trace_id: str, name: str) -> list[Assessment]:
        a = models.assessments
        with self.db.read() as connection:
            if not assessment_sql.existing_traces(connection, [trace_id]):
                raise TraceNotFoundError(f"trace_id {trace_id!r} not found")
            rows = connection.execute(
                select(a).where(a.c.trace_id == trace_id, a.c.name == name)
            ).mappings()
            return assessment_sql.in_history_order(
                [assessment_sql.assessment_from_row(row) for row in rows]
            )

    # -- experiments --------------------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> Experiment:
        existing = self.get_experiment_by_name(name)
        if existing is not None:
            if existing.lifecycle_stage == "deleted":
                raise InvalidArgumentError(
                    f"experiment {name!r} is deleted: restore it (restore_experiment) to use it"
                )
            return existing
        try:
            with self.db.write() as connection:
                connection.execute(
                    models.experiments.insert().values(
                        name=name, creation_time=int(time.time() * 1000)
                    )
                )
        except IntegrityError:
            pass  # another process created it first
        created = self.get_experiment_by_name(name)
        if created is None:  # pragma: no cover - deleted in between
            raise StoreError(f"experiment {name!r} could not be created")
        return created

    def get_experiment(self, experiment_id: str) -> Experiment:
        e = models.experiments
        with self.db.read() as connection:
            found = load_experiments(
                connection, e.c.experiment_id == rows.experiment_key(experiment_id)
            )
        if not found:
            raise ExperimentNotFoundError(f"experiment id {experiment_id!r} not found")
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self.db.read() as connection:
            found = load_experiments(connection, models.experiments.c.name == name)
        return found[0] if found else None


def _children_by_trace(
    connection: Connection, table: Table, trace_ids: Sequence[str]
) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for start in range(0, len(trace_ids), _IN_CHUNK):
        chunk = trace_ids[start : start + _IN_CHUNK]
        for row in connection.execute(select(table).where(table.c.trace_id.in_(chunk))).mappings():
            grouped[row["trace_id"]].append(row)
    return grouped


# From the one catalogue of trace fields (search/keys.py).
_SORT_COLUMNS = {field.key: field.sort_column or field.column for field in TRACE_FIELDS}
_NUMERIC_SORT = {field.key for field in TRACE_FIELDS if field.type == KeyType.NUMBER}


def _ordered(expression: Any, descending: bool) -> Any:
    ordered = expression.desc() if descending else expression.asc()
    if isinstance(expression, ColumnClause) and not expression.nullable:
        # No NULLS LAST on NOT NULL columns: PostgreSQL then walks the index instead of sorting.
        return ordered
    return ordered.nulls_last()


def keyset_after(keys: Sequence[tuple[Any, bool]], values: Sequence[Any]) -> Any:
    """Rows strictly after ``values`` in the order of ``keys`` (NULLs sort last)."""
    alternatives = []
    for i, (expression, descending) in enumerate(keys):
        value = values[i]
        after: Any
        if value is None:
            after = false()  # only NULLs follow a NULL, and those are ties
        else:
            beyond = expression < value if descending else expression > value
            after = or_(beyond, expression.is_(None))
        ties = [
            expression_j.is_(None) if values[j] is None else expression_j == values[j]
            for j, (expression_j, _) in enumerate(keys[:i])
        ]
        alternatives.append(and_(*ties, after))
    first, descending = keys[0]
    if values[0] is not None and isinstance(first, ColumnClause) and not first.nullable:
        # Redundant, but it lets the index seek to the cursor instead of scanning to it, so
        # page 1,000 costs what page 1 does.
        return and_(first <= values[0] if descending else first >= values[0], or_(*alternatives))
    return or_(*alternatives)


def encode_page_token(signature: list[str], values: list[Any]) -> str:
    payload = json.dumps({"order": signature, "after": values}).encode()
    return base64.urlsafe_b64encode(payload).decode()


def decode_page_token(token: str, signature: list[str], columns: Sequence[Any]) -> list[Any]:
    """The sort values a page token says to continue after, checked against the sort columns
    (a forged or damaged token is a typed error, never a database error)."""
    invalid = f"page_token {token[:100]!r} is not a valid page token"
    try:
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        order, values = payload["order"], payload["after"]
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidArgumentError(invalid) from exc
    if order != signature:
        raise InvalidArgumentError(
            "page_token was made for another order_by; pass the same order_by on every page"
        )
    if not isinstance(values, list) or len(values) != len(columns):
        raise InvalidArgumentError(f"{invalid}: it holds no position in this order")
    for value, column in zip(values, columns):
        if value is not None and not _fits_column(value, column):
            raise InvalidArgumentError(f"{invalid}: {value!r} is not a {column.type} value")
    return values


def _fits_column(value: Any, column: Any) -> bool:
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = object
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    if kind is float:
        return isinstance(value, (int, float))
    return kind is object or isinstance(value, kind)
