"""``assert_quality``: the CI quality gate inside a test (the same checks as
``evaltrace eval run``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaltrace.evaluate.api import get_evaluation_run
from evaltrace.evaluate.gate import GateReport, check_gate, latest_baseline
from evaltrace.exceptions import InvalidArgumentError

__all__ = ["assert_quality"]


def assert_quality(
    result: Any,
    *,
    fail_under: Mapping[str, float] | None = None,
    baseline: Any = None,
    fail_on_regression: int | None = None,
) -> GateReport:
    """Fail the test (``AssertionError``, every failed check and regression listed) unless the
    run ``result`` (an ``EvaluationResult``, a run or its id) holds each metric floor, regressed
    on at most ``fail_on_regression`` record scores against ``baseline`` (a run, its id, or
    ``"latest"``: the newest earlier run on the same dataset), and its predict function never
    raised. Returns the report when it holds."""
    run = get_evaluation_run(_run_id(result))
    if baseline == "latest":
        base = latest_baseline(run)
    elif baseline is None:
        base = None
    else:
        base = get_evaluation_run(_run_id(baseline))
    report = check_gate(
        run, baseline=base, fail_under=fail_under, fail_on_regression=fail_on_regression
    )
    if not report.passed:
        lines = [f"quality gate failed for run {run.run_id}:"]
        lines += [f"- {check.name}: {check.detail}" for check in report.failures()]
        raise AssertionError("\n".join(lines))
    return report


def _run_id(value: Any) -> str:
    run_id = getattr(value, "run_id", value)
    if not isinstance(run_id, str):
        raise InvalidArgumentError(
            f"expected an evaluation result, a run or a run id, got {value!r}"
        )
    return run_id
