"""A stored evaluation run: what was evaluated, how it scored, and each record's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["EvaluationRun", "RunResult", "rounded_metrics"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    row_index: int
    record_key: str
    trace_id: str | None
    inputs: dict[str, Any]
    outputs: Any
    expectations: dict[str, Any]
    error: str | None
    scores: dict[str, dict[str, Any]]  # scorer -> {value, score, rationale, error}


@dataclass(frozen=True, slots=True, kw_only=True)
class EvaluationRun:
    run_id: str
    name: str
    experiment_id: str
    model_id: str | None
    dataset_id: str | None
    dataset_version: int | None
    dataset_digest: str | None
    row_count: int
    scorers: list[str]
    metrics: dict[str, float]
    start_time: int
    end_time: int
    results: list[RunResult] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"EvaluationRun(run_id={self.run_id!r}, name={self.name!r}, "
            f"rows={self.row_count}, metrics={rounded_metrics(self.metrics)})"
        )


def rounded_metrics(metrics: dict[str, float]) -> dict[str, float]:
    """Metrics as a repr shows them (4 decimals)."""
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}
