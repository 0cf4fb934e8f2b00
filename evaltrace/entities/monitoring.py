"""Production monitoring values: how a registered scorer samples live traces, the outcome of
each trace it looked at, and what the monitor reports."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from evaltrace.entities.assessment import Assessment
from evaltrace.exceptions import InvalidArgumentError

__all__ = [
    "FinishedJob",
    "JobOutcome",
    "MonitorJob",
    "ScorerRegistration",
    "ScorerSamplingConfig",
    "ScorerStatus",
    "is_sampled",
]


class JobOutcome(str, Enum):
    """What happened to one trace for one scorer version. The last five are final."""

    WAITING = "waiting"  # the trace's root has not arrived yet (OTLP): decided when it does
    PENDING = "pending"
    CLAIMED = "claimed"
    SCORED = "scored"
    ERROR = "error"
    SAMPLED_OUT = "sampled_out"
    FILTERED_OUT = "filtered_out"
    STOPPED = "stopped"  # the scorer was stopped when the trace came (or before its turn)


FINAL_OUTCOMES = (
    JobOutcome.SCORED,
    JobOutcome.ERROR,
    JobOutcome.SAMPLED_OUT,
    JobOutcome.FILTERED_OUT,
    JobOutcome.STOPPED,
)


@dataclass(frozen=True, slots=True)
class ScorerSamplingConfig:
    """Which live traces a registered scorer judges (the reference's names), plus two of
    evaltrace's own: ``max_per_hour`` (a budget of judgments per hour: past it the scorer
    pauses, its traces wait, none is dropped) and ``max_concurrency`` (judgments at once per
    worker)."""

    sample_rate: float | None = None
    filter_string: str | None = None
    max_per_hour: int | None = None
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        rate = self.sample_rate
        if rate is not None and (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float))
            or not math.isfinite(rate)
            or not 0.0 <= rate <= 1.0
        ):
            raise InvalidArgumentError(f"sample_rate must be between 0 and 1, got {rate!r}")
        if self.filter_string is not None and not isinstance(self.filter_string, str):
            raise InvalidArgumentError("filter_string must be a string")
        for name in ("max_per_hour", "max_concurrency"):
            limit = getattr(self, name)
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
            ):
                raise InvalidArgumentError(f"{name} must be a positive integer, got {limit!r}")


def is_sampled(trace_id: str, scorer_name: str, sample_rate: float) -> bool:
    """The same decision for a (trace, scorer) in every worker and every rerun: a hash of both,
    read as a fraction in [0, 1), against the rate."""
    if sample_rate >= 1.0:
        return True
    if sample_rate <= 0.0:
        return False
    digest = hashlib.blake2b(f"{scorer_name}\0{trace_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < sample_rate


@dataclass(frozen=True, slots=True)
class ScorerRegistration:
    """A registered scorer as stored: its current version, how to load it, how it samples."""

    experiment_id: str
    name: str
    version: int
    state: str  # active | stopped
    sample_rate: float
    filter_string: str | None
    max_per_hour: int | None
    max_concurrency: int | None
    kind: str  # import | source | class | judge
    definition: dict[str, Any]
    created_time_ms: int
    updated_time_ms: int

    @property
    def sampling_config(self) -> ScorerSamplingConfig:
        return ScorerSamplingConfig(
            self.sample_rate, self.filter_string, self.max_per_hour, self.max_concurrency
        )


@dataclass(frozen=True, slots=True)
class MonitorJob:
    """One claimed (trace, scorer version) for a worker to judge."""

    trace_id: str
    experiment_id: str
    scorer_name: str
    scorer_version: int
    attempts: int


@dataclass(frozen=True, slots=True)
class ScorerStatus:
    """What the monitor reports for one registered scorer: outcome counts over all its
    versions, and the lag (age of the oldest trace not yet judged; 0 when none waits)."""

    experiment_id: str
    name: str
    version: int
    state: str
    sample_rate: float
    filter_string: str | None
    counts: dict[str, int] = field(default_factory=dict)
    oldest_unscored_ms: int | None = None
    lag_seconds: float = 0.0
    paused_by_budget: bool = False
    judged_last_hour: int = 0
    max_per_hour: int | None = None
    # The newest error outcome: its message and when (epoch ms), None while there is none.
    last_error: str | None = None
    last_error_time_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "version": self.version,
            "state": self.state,
            "sample_rate": self.sample_rate,
            "filter_string": self.filter_string,
            "counts": dict(self.counts),
            "oldest_unscored_ms": self.oldest_unscored_ms,
            "lag_seconds": self.lag_seconds,
            "paused_by_budget": self.paused_by_budget,
            "judged_last_hour": self.judged_last_hour,
            "max_per_hour": self.max_per_hour,
            "last_error": self.last_error,
            "last_error_time_ms": self.last_error_time_ms,
        }


@dataclass(frozen=True, slots=True)
class FinishedJob:
    """A worker's result for one claimed job: ``outcome`` scored or error (final), or pending
    again (a rate limit: retried after ``not_before``)."""

    job: MonitorJob
    outcome: JobOutcome
    value_num: float | None = None
    error: str | None = None
    not_before: int = 0
    assessments: tuple[Assessment, ...] = ()
