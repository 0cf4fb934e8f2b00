"""Reading stored evaluation runs back."""

from __future__ import annotations

from collections.abc import Sequence

from evaltrace._session import get_session
from evaltrace._validation import require_count, require_text, require_texts
from evaltrace.entities.evaluation import EvaluationRun

__all__ = ["get_evaluation_run", "search_evaluation_runs"]


def get_evaluation_run(run_id: str) -> EvaluationRun:
    """The run with its metrics, dataset pin and per-record results."""
    return get_session().store().runs.get(require_text(run_id, "run_id"))


def search_evaluation_runs(
    experiment_ids: Sequence[str] | None = None,
    model_id: str | None = None,
    max_results: int | None = None,
) -> list[EvaluationRun]:
    """Runs, newest first (without per-record results: ``get_evaluation_run`` has them)."""
    return (
        get_session()
        .store()
        .runs.search(
            require_texts(experiment_ids, "experiment_ids"),
            require_text(model_id, "model_id", optional=True),
            require_count(max_results, "max_results"),
        )
    )
