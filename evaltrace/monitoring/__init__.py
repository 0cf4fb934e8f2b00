"""Production monitoring: registered scorers judge a sample of live traces, exactly once per
(trace, scorer version), and every trace the worker looked at has a recorded outcome."""

from evaltrace.entities.monitoring import JobOutcome, ScorerSamplingConfig, ScorerStatus
from evaltrace.monitoring.registry import (
    BackfillScorerConfig,
    backfill_scorers,
    delete_scorer,
    get_scorer,
    list_scorers,
    monitor_status,
)
from evaltrace.monitoring.worker import MonitorWorker, WorkerTotals

__all__ = [
    "BackfillScorerConfig",
    "JobOutcome",
    "MonitorWorker",
    "ScorerSamplingConfig",
    "ScorerStatus",
    "WorkerTotals",
    "backfill_scorers",
    "delete_scorer",
    "get_scorer",
    "list_scorers",
    "monitor_status",
]
