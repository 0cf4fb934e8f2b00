"""Evaluate: run the app over a dataset, score it, keep the run, compare runs."""

from evaltrace.evaluate.api import get_evaluation_run, search_evaluation_runs
from evaltrace.evaluate.runner import EvaluationResult, evaluate
from evaltrace.evaluate.tables import RunComparison, compare_runs

__all__ = [
    "EvaluationResult",
    "RunComparison",
    "compare_runs",
    "evaluate",
    "get_evaluation_run",
    "search_evaluation_runs",
]
