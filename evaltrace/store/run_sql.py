"""Evaluation runs in SQL: the run and its per-record results, written in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select

from evaltrace._json import dumps_json, loads_json
from evaltrace.entities.evaluation import EvaluationRun, RunResult
from evaltrace.exceptions import EvaluationRunNotFoundError
from evaltrace.store import models, rows
from evaltrace.store.database import Database

__all__ = ["SqlRuns"]


class SqlRuns:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, run: EvaluationRun) -> None:
        with self._db.write() as connection:
            connection.execute(
                insert(models.evaluation_runs).values(
                    run_id=run.run_id,
                    name=run.name,
                    experiment_id=int(run.experiment_id),
                    model_id=run.model_id,
                    dataset_id=run.dataset_id,
                    dataset_version=run.dataset_version,
                    dataset_digest=run.dataset_digest,
                    row_count=run.row_count,
                    scorers=dumps_json(run.scorers),
                    metrics=dumps_json(run.metrics),
                    start_time=run.start_time,
                    end_time=run.end_time,
                )
            )
            if run.results:
                connection.execute(
                    insert(models.evaluation_results),
                    [
                        {
                            "run_id": run.run_id,
                            "row_index": r.row_index,
                            "record_key": r.record_key,
                            "trace_id": r.trace_id,
                            "inputs": dumps_json(r.inputs, default=str),
                            "outputs": dumps_json(r.outputs, default=str),
                            "error": r.error,
                            "expectations": dumps_json(r.expectations, default=str),
                            "scores": dumps_json(r.scores, default=str),
                        }
                        for r in run.results
                    ],
                )

    def get(self, run_id: str, *, with_results: bool = True) -> EvaluationRun:
        runs = models.evaluation_runs
        with self._db.read() as connection:
            row = connection.execute(select(runs).where(runs.c.run_id == run_id)).mappings().first()
            if row is None:
                raise EvaluationRunNotFoundError(f"no evaluation run with id {run_id!r}")
            results = []
            if with_results:
                r = models.evaluation_results
                query = select(r).where(r.c.run_id == run_id).order_by(r.c.row_index)
                results = [_result(found) for found in connection.execute(query).mappings()]
            return _run(row, results)

    def search(
        self, experiment_ids: Sequence[str] | None, model_id: str | None, max_results: int | None
    ) -> list[EvaluationRun]:
        runs = models.evaluation_runs
        query = select(runs).order_by(runs.c.start_time.desc(), runs.c.run_id)
        if experiment_ids is not None:
            query = query.where(
                runs.c.experiment_id.in_([rows.experiment_key(e) for e in experiment_ids])
            )
        if model_id is not None:
            query = query.where(runs.c.model_id == model_id)
        if max_results is not None:
            query = query.limit(max_results)
        with self._db.read() as connection:
            return [_run(row, []) for row in connection.execute(query).mappings()]


def _run(row: Any, results: list[RunResult]) -> EvaluationRun:
    return EvaluationRun(
        run_id=row["run_id"],
        name=row["name"],
        experiment_id=str(row["experiment_id"]),
        model_id=row["model_id"],
        dataset_id=row["dataset_id"],
        dataset_version=row["dataset_version"],
        dataset_digest=row["dataset_digest"],
        row_count=row["row_count"],
        scorers=loads_json(row["scorers"]),
        metrics=loads_json(row["metrics"]),
        start_time=row["start_time"],
        end_time=row["end_time"],
        results=results,
    )


def _result(row: Any) -> RunResult:
    return RunResult(
        row_index=row["row_index"],
        record_key=row["record_key"],
        trace_id=row["trace_id"],
        inputs=loads_json(row["inputs"]),
        outputs=loads_json(row["outputs"]),
        expectations=loads_json(row["expectations"]),
        error=row["error"],
        scores=loads_json(row["scores"]),
    )
