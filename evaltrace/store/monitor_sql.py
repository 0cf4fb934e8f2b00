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

from evaltrace.store.monitor_common_sql import wall_clock_ms
from evaltrace.store.monitor_jobs_sql import MonitorJobsSql
from evaltrace.store.monitor_registry_sql import ScorerRegistrySql
from evaltrace.store.monitor_reports_sql import MonitorReportsSql

__all__ = ["SqlMonitors", "wall_clock_ms"]


class SqlMonitors(ScorerRegistrySql, MonitorJobsSql, MonitorReportsSql):
    """The monitors facet (store/facets.py MonitorsFacet), in three rooms: the registry
    (monitor_registry_sql.py), the job queue (monitor_jobs_sql.py) and the reports
    (monitor_reports_sql.py), over the tables, clock and shared queries of
    monitor_common_sql.py."""
