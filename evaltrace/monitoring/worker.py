"""The monitor worker: reads new traces from the store's change feed, runs registered scorers
on them, and logs their results as Feedback, each (trace, scorer version) exactly once.

One step: for each monitored experiment, record the outcome of every new trace (the store's
``enqueue``), claim a batch of pending jobs, judge them on a thread pool (each judgment within
EVALTRACE_SCORER_TIMEOUT, at most ``max_concurrency`` at once per scorer), and finish the
batch in one transaction with its Feedback. A rate-limited judgment goes back to the queue
with a backoff; any other failure is that job's ``error`` outcome, with the message.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from evaltrace.annotate.api import prepare_assessment
from evaltrace.entities import AssessmentSource, Feedback, Trace
from evaltrace.entities.monitoring import FinishedJob, JobOutcome, MonitorJob
from evaltrace.evaluate.metrics import to_score
from evaltrace.evaluate.scorers import Score, Scorer
from evaltrace.evaluate.timeouts import DaemonPool, TimedOut
from evaltrace.exceptions import ScorerLoadError, StoreUnavailableError
from evaltrace.monitoring.registry import load_registered
from evaltrace.tracer.spans import untraced

__all__ = ["MonitorWorker", "WorkerTotals"]

_log = logging.getLogger("evaltrace.monitor")
_LEASE = "monitor-worker"
_LEASE_SECONDS = 60.0
_MAX_PAUSE_SECONDS = 30.0
MONITOR_METADATA = "evaltrace.monitor.scorer"


@dataclass
class WorkerTotals:
    """What a worker did since it started."""

    changes_read: int = 0
    judged: int = 0
    errors: int = 0
    retried: int = 0
    lost_claims: int = 0  # results dropped because the claim had expired and was retaken
    outcomes: dict[str, int] = field(default_factory=dict)


def _is_rate_limit(error: BaseException) -> bool:
    if getattr(error, "status_code", None) == 429:
        return True
    return type(error).__name__ == "RateLimitError"


class MonitorWorker:
    def __init__(
        self,
        store: Any,
        *,
        experiment_ids: Sequence[str] | None = None,
        concurrency: int = 4,
        batch_size: int = 64,
        claim_seconds: float = 300.0,
        scorer_timeout: float = 120.0,
        max_attempts: int = 5,
        backoff_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.monitors = store.monitors
        self.experiment_ids = list(experiment_ids) if experiment_ids else None
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.claim_seconds = claim_seconds
        self.scorer_timeout = scorer_timeout
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.holder = f"pid {os.getpid()} on {socket.gethostname()} ({uuid.uuid4().hex[:8]})"
        self.totals = WorkerTotals()
        self._exclusive = store.one_writer_at_a_time
        self._scorers: dict[tuple[str, str, int], Scorer | ScorerLoadError] = {}
        self._limits: dict[tuple[str, str], threading.Semaphore] = {}
        self._threads = ThreadPoolExecutor(concurrency, thread_name_prefix="evaltrace-monitor")
        self._judges = DaemonPool(concurrency)

    # -- running ------------------------------------------------------------------------------

    def run(self, stop: threading.Event, *, poll_seconds: float = 1.0, once: bool = False) -> None:
        """Work until ``stop`` is set (or, with ``once``, until nothing is left to do now).
        On SQLite the worker holds the store's lease while it runs (``MonitorBusyError`` if
        another worker does). A store that cannot be reached is waited for, with a growing
        pause (with ``once`` its error is raised): a batch it could not finish is claimed
        again once its claims expire."""
        pause = poll_seconds
        try:
            while not stop.is_set():
                try:
                    self._hold_lease()
                    busy = self.step()
                except StoreUnavailableError as exc:
                    if once:
                        raise
                    _log.warning(
                        "evaltrace monitor: the store is unreachable, trying again in %g s: %s",
                        pause,
                        exc,
                    )
                    stop.wait(pause)
                    pause = min(pause * 2, _MAX_PAUSE_SECONDS)
                    continue
                pause = poll_seconds
                if once and not busy:
                    return
                if not busy:
                    stop.wait(poll_seconds)
        finally:
            self.close()

    def _hold_lease(self) -> None:
        if self._exclusive:  # renewed every step; a killed worker's lease soon runs out
            self.monitors.take_lease(_LEASE, self.holder, _LEASE_SECONDS)

    def step(self) -> int:
        """One round over every monitored experiment; returns how much it did (0: idle)."""
        done = 0
        experiments = self.experiment_ids or self.monitors.monitored_experiments()
        for experiment_id in experiments:
            while (read := self.monitors.enqueue(experiment_id)) > 0:
                self.totals.changes_read += read
                done += read
            token = uuid.uuid4().hex
            jobs = self.monitors.claim(
                experiment_id, token, limit=self.batch_size, claim_seconds=self.claim_seconds
            )
            if jobs:
                results = self._judge_all(jobs)
                recorded = self.monitors.finish(token, results)
                self.totals.lost_claims += len(results) - recorded
                done += len(jobs)
        return done

    def close(self) -> None:
        self._threads.shutdown(wait=True)
        self._judges.close()
        for loaded in self._scorers.values():
            if isinstance(loaded, Scorer):
                loaded.close()
        if self._exclusive:
            try:
                self.monitors.release_lease(_LEASE, self.holder)
            except Exception:  # the store may be gone; the lease then simply expires
                _log.debug("evaltrace: could not release the monitor lease", exc_info=True)

    # -- judging ------------------------------------------------------------------------------

    def _judge_all(self, jobs: list[MonitorJob]) -> list[FinishedJob]:
        traces = self._traces({job.trace_id for job in jobs})
        results = list(self._threads.map(functools.partial(self._judge, traces), jobs))
        for result in results:
            outcome = result.outcome.value
            self.totals.outcomes[outcome] = self.totals.outcomes.get(outcome, 0) + 1
            if result.outcome is JobOutcome.ERROR:
                self.totals.errors += 1
            elif result.outcome is JobOutcome.PENDING:
                self.totals.retried += 1
            else:
                self.totals.judged += 1
        return results

    def _traces(self, trace_ids: set[str]) -> dict[str, Trace]:
        """The batch's traces, in a few queries (one deleted since is simply missing)."""
        return {trace.info.trace_id: trace for trace in self.store.get_traces(sorted(trace_ids))}

    def _scorer(self, job: MonitorJob) -> Scorer | ScorerLoadError:
        key = (job.experiment_id, job.scorer_name, job.scorer_version)
        if key not in self._scorers:
            try:
                registration = self.monitors.get(*key)
                self._scorers[key] = load_registered(registration)
                limit = registration.max_concurrency or self.concurrency
                self._limits[key[:2]] = threading.Semaphore(limit)
            except ScorerLoadError as problem:
                _log.error("evaltrace monitor: %s (its traces get this error)", problem)
                self._scorers[key] = problem
        return self._scorers[key]

    def _judge(self, traces: dict[str, Trace], job: MonitorJob) -> FinishedJob:
        try:
            return self._judged(traces, job)
        except Exception as exc:  # ours or the scorer's: that job's error, the batch goes on
            _log.debug("evaltrace monitor: judging %s failed", job, exc_info=True)
            return FinishedJob(job, JobOutcome.ERROR, error=f"{type(exc).__name__}: {exc}")

    def _judged(self, traces: dict[str, Trace], job: MonitorJob) -> FinishedJob:
        trace = traces.get(job.trace_id)
        if trace is None:
            return FinishedJob(job, JobOutcome.ERROR, error="the trace was deleted")
        scorer = self._scorer(job)
        if isinstance(scorer, ScorerLoadError):
            return FinishedJob(job, JobOutcome.ERROR, error=str(scorer))
        record = trace.to_dataset_record()
        arguments = {
            "inputs": record.inputs,
            "outputs": record.outputs,
            "expectations": record.expectations,
            "trace": trace,
        }
        with self._limits[(job.experiment_id, job.scorer_name)], untraced():
            (outcome,) = self._judges.call_each(
                [functools.partial(scorer.judge, arguments)], timeout=self.scorer_timeout
            )
        if isinstance(outcome, TimedOut):
            message = f"{outcome} (EVALTRACE_SCORER_TIMEOUT)"
            outcome = [Score(job.scorer_name, error=TimedOut(message), source=scorer.source())]
        elif isinstance(outcome, Exception):
            outcome = [Score(job.scorer_name, error=outcome, source=scorer.source())]
        return self._finished(job, scorer, outcome)

    def _finished(self, job: MonitorJob, scorer: Scorer, scores: list[Score]) -> FinishedJob:
        errors = [score.error for score in scores if score.error is not None]
        if errors and _is_rate_limit(errors[0]) and job.attempts < self.max_attempts:
            wait = self.backoff_seconds * 2 ** (job.attempts - 1)
            return FinishedJob(
                job,
                JobOutcome.PENDING,
                error=f"rate limited, retried in {wait:g} s: {errors[0]}",
                not_before=self.monitors.now_ms() + int(wait * 1000),
            )
        source_type = scorer.source().source_type
        source = AssessmentSource(
            source_type=source_type, source_id=f"{job.scorer_name}@v{job.scorer_version}"
        )
        metadata = {
            MONITOR_METADATA: job.scorer_name,
            "evaltrace.monitor.version": job.scorer_version,
        }
        assessments = []
        value_num = None
        for score in scores:
            value = score.value
            if value is None and score.error is None:
                continue  # not judged (nothing to judge against): no Feedback
            if value_num is None and score.error is None:
                value_num = to_score(value)
            assessments.append(
                prepare_assessment(
                    Feedback,
                    {
                        "trace_id": job.trace_id,
                        "name": score.name,
                        "value": value if score.error is None else None,
                        "rationale": score.rationale,
                        "source": source,
                        "error": score.error,
                        "metadata": metadata,
                    },
                )
            )
        if errors:
            error = errors[0]
            return FinishedJob(
                job,
                JobOutcome.ERROR,
                error=f"{type(error).__name__}: {error}",
                assessments=tuple(assessments),
            )
        return FinishedJob(
            job, JobOutcome.SCORED, value_num=value_num, assessments=tuple(assessments)
        )
