"""A quality gate over an evaluation run: metric floors, regressions against a baseline run,
the application's own failures. One report for the CLI (``evaltrace eval run``: a table, JSON,
JUnit XML, an exit code) and for tests (``evaltrace.testing.assert_quality``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

from evaltrace.entities.evaluation import EvaluationRun
from evaltrace.exceptions import InvalidArgumentError

__all__ = ["Check", "GateReport", "check_gate", "latest_baseline", "parse_thresholds"]

PREDICT_ERRORS = "predict/error_count"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class GateReport:
    run_id: str
    baseline_run_id: str | None
    metrics: dict[str, float]
    checks: list[Check]
    regressions: list[dict[str, Any]] = field(default_factory=list)
    predict_errors: int = 0

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "run_id": self.run_id,
            "baseline_run_id": self.baseline_run_id,
            "metrics": self.metrics,
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail} for c in self.checks
            ],
            "regressions": self.regressions,
            "predict_errors": self.predict_errors,
        }

    def junit_xml(self) -> str:
        """The checks as one JUnit test suite (what CI systems show as test results)."""
        suite = ElementTree.Element(
            "testsuite",
            name="evaltrace quality gate",
            tests=str(len(self.checks)),
            failures=str(len(self.failures())),
            errors="0",
        )
        suite.set("id", self.run_id)
        for check in self.checks:
            case = ElementTree.SubElement(
                suite, "testcase", classname="evaltrace.gate", name=check.name
            )
            if not check.passed:
                failure = ElementTree.SubElement(case, "failure", message=check.detail)
                failure.text = check.detail
            else:
                ElementTree.SubElement(case, "system-out").text = check.detail
        return ElementTree.tostring(suite, encoding="unicode", xml_declaration=True)


def parse_thresholds(pairs: Sequence[str]) -> dict[str, float]:
    """``["correctness/mean=0.8", ...]`` as {metric: floor}."""
    floors = {}
    for pair in pairs:
        metric, equals, value = pair.rpartition("=")
        try:
            if not equals or not metric:
                raise ValueError(pair)
            floors[metric.strip()] = float(value)
        except ValueError:
            raise InvalidArgumentError(
                f"--fail-under {pair!r}: expected METRIC=NUMBER, e.g. correctness/mean=0.8"
            ) from None
    return floors


def check_gate(
    run: EvaluationRun,
    *,
    baseline: EvaluationRun | None = None,
    fail_under: Mapping[str, float] | None = None,
    fail_on_regression: int | None = None,
) -> GateReport:
    """The gate's checks on ``run``: each floor (a metric missing from the run fails it), at
    most ``fail_on_regression`` records regressed against ``baseline``, and no record whose
    predict function raised."""
    metrics = dict(run.metrics)
    checks = []
    for metric, floor in (fail_under or {}).items():
        value = metrics.get(metric)
        if value is None:
            known = ", ".join(sorted(metrics)) or "none"
            checks.append(
                Check(f"{metric} >= {floor:g}", False, f"no such metric (run has {known})")
            )
        else:
            checks.append(
                Check(f"{metric} >= {floor:g}", value >= floor, f"{metric} = {value:.4g}")
            )
    regressions: list[dict[str, Any]] = []
    if baseline is not None:
        from evaltrace.evaluate.tables import compare_runs

        comparison = compare_runs(baseline, run)
        for row in comparison.regressions.to_dict(orient="records"):
            regressions.append(
                {
                    "record_key": row["record_key"],
                    "scorer": row["scorer"],
                    "baseline": row["score_a"],
                    "now": row["score_b"],
                    "trace_id": row["trace_id_b"],
                }
            )
        if fail_on_regression is not None:
            detail = f"{len(regressions)} record score(s) regressed against {baseline.run_id}"
            checks.append(
                Check(
                    f"regressions <= {fail_on_regression}",
                    len(regressions) <= fail_on_regression,
                    detail + "".join(f"; {_shown(r)}" for r in regressions[:20]),
                )
            )
    elif fail_on_regression is not None:
        checks.append(Check("regressions", True, "no baseline run to compare with"))
    predict_errors = int(metrics.get(PREDICT_ERRORS, 0))
    checks.append(
        Check(
            "the application answered every record",
            predict_errors == 0,
            f"predict_fn raised on {predict_errors} of {run.row_count} record(s)",
        )
    )
    return GateReport(
        run.run_id,
        None if baseline is None else baseline.run_id,
        metrics,
        checks,
        regressions,
        predict_errors,
    )


def latest_baseline(run: EvaluationRun) -> EvaluationRun | None:
    """The newest earlier run of the same experiment on the same dataset (else on any data)."""
    from evaltrace.evaluate.api import search_evaluation_runs

    earlier = [
        r
        for r in search_evaluation_runs(experiment_ids=[run.experiment_id])
        if r.run_id != run.run_id and r.start_time <= run.start_time
    ]
    same_data = [r for r in earlier if r.dataset_id == run.dataset_id]
    candidates = same_data or earlier
    return max(candidates, key=lambda r: r.start_time) if candidates else None


def _shown(regression: Mapping[str, Any]) -> str:
    return (
        f"{regression['record_key']} {regression['scorer']}: "
        f"{regression['baseline']} -> {regression['now']}"
    )
