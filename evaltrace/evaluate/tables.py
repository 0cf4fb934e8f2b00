"""The per-record results table of a run, and the comparison of two runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evaltrace.entities.evaluation import EvaluationRun, RunResult

if TYPE_CHECKING:
    import pandas

__all__ = ["RunComparison", "compare_runs", "results_table"]


def results_table(results: list[RunResult]) -> pandas.DataFrame:
    """One row per record: trace_id, inputs, outputs, expectations, error, flattened
    ``inputs.<key>`` / ``expectations.<key>``, and per scorer value, score, rationale, error."""
    import pandas

    rows = []
    for result in results:
        row: dict[str, Any] = {
            "trace_id": result.trace_id,
            "inputs": result.inputs,
            "outputs": result.outputs,
            "expectations": result.expectations,
            "error": result.error,
        }
        for key, value in result.inputs.items():
            row[f"inputs.{key}"] = value
        for key, value in result.expectations.items():
            row[f"expectations.{key}"] = value
        for name, score in result.scores.items():
            for part in ("value", "score", "rationale", "error"):
                row[f"{name}/{part}"] = score.get(part)
        rows.append(row)
    return pandas.DataFrame(rows)


@dataclass
class RunComparison:
    """Per record and scorer: the score in run A and in run B, and what changed."""

    table: pandas.DataFrame
    metric_deltas: dict[str, float]

    @property
    def regressions(self) -> pandas.DataFrame:
        return self.table[self.table["change"] == "regression"]

    @property
    def improvements(self) -> pandas.DataFrame:
        return self.table[self.table["change"] == "improvement"]


def compare_runs(run_a: Any, run_b: Any) -> RunComparison:
    """Match the two runs' records by key and compare every scorer's score."""
    import pandas

    a, b = _load(run_a), _load(run_b)
    by_key_b = {r.record_key: r for r in b.results}
    rows = []
    for result in a.results:
        other = by_key_b.get(result.record_key)
        names = set(result.scores) | set(other.scores if other else {})
        for name in sorted(names):
            score_a = result.scores.get(name, {}).get("score")
            score_b = other.scores.get(name, {}).get("score") if other else None
            rows.append(
                {
                    "record_key": result.record_key,
                    "inputs": result.inputs,
                    "scorer": name,
                    "score_a": score_a,
                    "score_b": score_b,
                    "delta": None if score_a is None or score_b is None else score_b - score_a,
                    "change": _change(score_a, score_b, other is not None),
                    "trace_id_a": result.trace_id,
                    "trace_id_b": other.trace_id if other else None,
                }
            )
    keys_a = {r.record_key for r in a.results}
    for result in b.results:
        if result.record_key not in keys_a:
            for name, score in sorted(result.scores.items()):
                rows.append(
                    {
                        "record_key": result.record_key,
                        "inputs": result.inputs,
                        "scorer": name,
                        "score_a": None,
                        "score_b": score.get("score"),
                        "delta": None,
                        "change": "only in b",
                        "trace_id_a": None,
                        "trace_id_b": result.trace_id,
                    }
                )
    deltas = {
        key: b.metrics[key] - a.metrics[key]
        for key in a.metrics
        if key in b.metrics and key.endswith("/score")
    }
    columns = [
        "record_key",
        "inputs",
        "scorer",
        "score_a",
        "score_b",
        "delta",
        "change",
        "trace_id_a",
        "trace_id_b",
    ]
    return RunComparison(pandas.DataFrame(rows, columns=columns), deltas)


def _change(score_a: float | None, score_b: float | None, matched: bool) -> str:
    if not matched:
        return "only in a"
    if score_a is None or score_b is None:
        return "not comparable"
    if score_b < score_a:
        return "regression"
    if score_b > score_a:
        return "improvement"
    return "unchanged"


def _load(run: Any) -> EvaluationRun:
    from evaltrace._session import get_session

    run_id = getattr(run, "run_id", run)
    return get_session().store().runs.get(str(run_id))
