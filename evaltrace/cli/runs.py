"""``evaltrace runs``: list and compare evaluation runs."""

from __future__ import annotations

import click

from evaltrace.cli._common import emit, format_option, store_command
from evaltrace.evaluate import compare_runs, get_evaluation_run, search_evaluation_runs

__all__ = ["runs"]


@click.group()
def runs() -> None:
    """List and compare evaluation runs."""


@runs.command("list")
@click.option("--model-id", help="Only the runs of this model version.")
@click.option("--max-results", "-n", type=click.IntRange(min=1), default=100, show_default=True)
@format_option()
@store_command
def list_(model_id: str | None, max_results: int, fmt: str | None) -> None:
    """Evaluation runs, newest first.

    \b
    Example:
      evaltrace runs list --model-id my-agent-v2
    """
    rows = [
        {
            "run_id": r.run_id,
            "name": r.name,
            "model_id": r.model_id,
            "rows": r.row_count,
            "metrics": r.metrics,
            "start_time": r.start_time,
        }
        for r in search_evaluation_runs(model_id=model_id, max_results=max_results)
    ]
    emit(rows, ["run_id", "name", "model_id", "rows", "metrics"], fmt, title="runs")


@runs.command("compare")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--changes-only", is_flag=True, help="Only regressions and improvements.")
@format_option()
@store_command
def compare(run_a: str, run_b: str, changes_only: bool, fmt: str | None) -> None:
    """Compare two runs record by record: each scorer's score in A and B and what changed.

    \b
    Example:
      evaltrace runs compare RUN_A RUN_B --changes-only
    """
    comparison = compare_runs(get_evaluation_run(run_a), get_evaluation_run(run_b))
    table = comparison.table
    if changes_only:
        table = table[table["change"].isin(["regression", "improvement"])]
    rows = [
        {k: (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
        for row in table.to_dict(orient="records")
    ]
    columns = ["record_key", "scorer", "score_a", "score_b", "change"]
    emit(rows, columns, fmt, title=f"{run_a} → {run_b}")
    for metric, delta in sorted(comparison.metric_deltas.items()):
        click.echo(f"{metric}: {delta:+.4g}", err=True)
