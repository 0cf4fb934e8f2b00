"""``evaltrace eval run``: a quality gate for CI. Runs ``evaluate`` on a dataset, checks the run
(metric floors, regressions against a baseline run, the application's own failures), prints a
summary, writes JUnit XML, and says so in its exit code:

- 0: the gate holds;
- 1: the gate failed (a floor not reached, too many regressions);
- 2: the gate could not run (bad arguments, a module that does not import, an unknown dataset or
  baseline, the store unreachable);
- 3: the application (``--predict``) raised on some records: the run is incomplete.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from evaltrace.cli._common import store_command
from evaltrace.exceptions import EvaltraceError, InvalidArgumentError

__all__ = ["GATE_FAILED", "NOT_RUN", "PREDICT_FAILED", "eval_group"]

GATE_FAILED, NOT_RUN, PREDICT_FAILED = 1, 2, 3


@click.group("eval")
def eval_group() -> None:
    """Evaluate in CI: run a dataset through the app and hold the result to a gate."""


@eval_group.command("run")
@click.option("--dataset", "dataset_ref", required=True, metavar="NAME[@VERSION]")
@click.option("--predict", required=True, metavar="MODULE:FUNCTION", help="The app to evaluate.")
@click.option("--scorer", "scorer_refs", multiple=True, metavar="MODULE:NAME", help="Repeatable.")
@click.option("--baseline", metavar="RUN_ID|latest", help="The run to find regressions against.")
@click.option("--fail-under", multiple=True, metavar="METRIC=VALUE", help="A metric's floor.")
@click.option(
    "--fail-on-regression",
    type=click.IntRange(min=0),
    metavar="N",
    help="Fail when more than N record scores regressed against the baseline.",
)
@click.option("--junit-xml", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--name", help="The run's name.")
@click.option("--model-id", help="The app version evaluated (a label on the run).")
@store_command
def run(
    dataset_ref: str,
    predict: str,
    scorer_refs: tuple[str, ...],
    baseline: str | None,
    fail_under: tuple[str, ...],
    fail_on_regression: int | None,
    junit_xml: Path | None,
    as_json: bool,
    name: str | None,
    model_id: str | None,
) -> None:
    """Run the dataset through --predict, score it, and hold the run to the gate.

    \b
    Example:
      evaltrace eval run --dataset qa-golden --predict app:answer \\
          --scorer checks:correctness --baseline latest \\
          --fail-under correctness/mean=0.8 --fail-on-regression 0 --junit-xml gate.xml
    """
    try:
        report = _run_gate(
            dataset_ref, predict, scorer_refs, baseline, fail_under, fail_on_regression,
            name, model_id,
        )  # fmt: skip
    except EvaltraceError as exc:
        _not_run(str(exc))
    except (ImportError, AttributeError, OSError) as exc:  # --predict / --scorer not found
        _not_run(f"{type(exc).__name__}: {exc}")
    if junit_xml is not None:
        junit_xml.write_text(report.junit_xml(), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(report.to_dict(), default=str))
    else:
        _print(report)
    if report.predict_errors:
        sys.exit(PREDICT_FAILED)
    if not report.passed:
        sys.exit(GATE_FAILED)


def _run_gate(
    dataset_ref: str,
    predict: str,
    scorer_refs: tuple[str, ...],
    baseline: str | None,
    fail_under: tuple[str, ...],
    fail_on_regression: int | None,
    name: str | None,
    model_id: str | None,
) -> Any:
    from evaltrace.datasets import get_dataset
    from evaltrace.evaluate import evaluate, get_evaluation_run
    from evaltrace.evaluate.gate import check_gate, latest_baseline, parse_thresholds
    from evaltrace.evaluate.scorers import Scorer, scorer

    floors = parse_thresholds(fail_under)
    dataset_name, _, version = dataset_ref.partition("@")
    if version and not version.isdigit():
        raise InvalidArgumentError(f"--dataset {dataset_ref!r}: the version must be a number")
    dataset = get_dataset(name=dataset_name, version=int(version) if version else None)
    predict_fn = _load(predict, "--predict")
    if not callable(predict_fn):
        raise InvalidArgumentError(f"--predict {predict}: not callable")
    scorers = []
    for ref in scorer_refs:
        found = _load(ref, "--scorer")
        scorers.append(found if isinstance(found, Scorer) else scorer(found))
    base = None
    if baseline is not None and baseline != "latest":
        base = get_evaluation_run(baseline)  # before the run: an unknown id costs no run
    result = evaluate(
        data=dataset, predict_fn=predict_fn, scorers=scorers, model_id=model_id, run_name=name
    )
    run = get_evaluation_run(result.run_id)
    if baseline == "latest":
        base = latest_baseline(run)
    return check_gate(run, baseline=base, fail_under=floors, fail_on_regression=fail_on_regression)


def _load(reference: str, option: str) -> Any:
    """``module:attribute`` from the working directory (as ``python -m`` would find it)."""
    module_name, colon, attribute = reference.partition(":")
    if not colon or not module_name or not attribute:
        raise InvalidArgumentError(f"{option} {reference!r}: expected MODULE:NAME")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    found = module
    for part in attribute.split("."):
        found = getattr(found, part)
    return found


def _print(report: Any) -> None:
    verdict = "PASSED" if report.passed else "FAILED"
    click.echo(f"quality gate {verdict}: run {report.run_id}", err=False)
    if report.baseline_run_id:
        click.echo(f"baseline: {report.baseline_run_id}")
    for metric, value in sorted(report.metrics.items()):
        click.echo(f"  {metric:<40} {value:.4g}")
    for check in report.checks:
        click.echo(f"{'ok  ' if check.passed else 'FAIL'} {check.name}: {check.detail}")


def _not_run(message: str) -> NoReturn:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(NOT_RUN)
