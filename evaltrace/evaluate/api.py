"""Reading stored evaluation runs back."""

from __future__ import annotations

from collections.abc import Sequence

from evaltrace.entities.evaluation import EvaluationRun
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.store import get_store

__all__ = ["get_evaluation_run", "search_evaluation_runs"]


def get_evaluation_run(run_id: str) -> EvaluationRun:
    """The run with its metrics, dataset pin and per-record results."""
    if not isinstance(run_id, str) or not run_id:
        raise InvalidArgumentError(f"run_id must be a non-empty string, got {run_id!r}")
    return get_store().runs.get(run_id)


def search_evaluation_runs(
    experiment_ids: Sequence[str] | None = None,
    model_id: str | None = None,
    max_results: int | None = None,
) -> list[EvaluationRun]:
    """Runs, newest first (without per-record results: ``get_evaluation_run`` has them)."""
    return get_store().runs.search(experiment_ids, model_id, max_results)
