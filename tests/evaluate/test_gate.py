"""The quality gate: ``evaltrace eval run`` as CI runs it (a subprocess, exit codes, JUnit XML
parsed back, the baseline by id and ``latest``) and ``assert_quality`` in a test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

import evaltrace
from evaltrace.datasets import create_dataset
from evaltrace.evaluate.scorers import scorer
from evaltrace.testing import assert_quality
from tests.server.live import child_env

APP = """
import os

BROKEN = os.environ.get("APP_VERSION") == "broken"
RAISES = os.environ.get("APP_VERSION") == "raises"


def answer(question):
    if RAISES and "refund" in question:
        raise RuntimeError("the app is down")
    if BROKEN and "refund" in question:
        return "no idea"
    return {"refund?": "30 days", "shipping?": "5 days"}.get(question, "?")
"""

CHECKS = """
from evaltrace.scorers import scorer


@scorer
def correct(outputs, expectations):
    return outputs == expectations["answer"]


def mentions_days(outputs):  # a plain function: the gate wraps it as a scorer
    return "days" in str(outputs)
"""


def _gate(
    uri: str, work: Path, *args: str, version: str = "good"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evaltrace.cli", "eval", "run", "--tracking-uri", uri, *args],
        cwd=work,
        env=child_env(work / "spool", APP_VERSION=version),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> tuple[str, Path]:
    """A store with a golden dataset, and a working directory with the app and its checks."""
    uri = f"sqlite:///{tmp_path / 'gate.db'}"
    evaltrace.set_tracking_uri(uri)
    dataset = create_dataset("golden")
    dataset.merge_records(
        [
            {"inputs": {"question": "refund?"}, "expectations": {"answer": "30 days"}},
            {"inputs": {"question": "shipping?"}, "expectations": {"answer": "5 days"}},
        ]
    )
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "checks.py").write_text(CHECKS)
    return uri, tmp_path


GATE = [
    "--dataset", "golden", "--predict", "app:answer",
    "--scorer", "checks:correct", "--scorer", "checks:mentions_days",
    "--fail-under", "correct/mean=1.0",
]  # fmt: skip


def test_a_passing_then_a_failing_gate_with_junit_xml(project: tuple[str, Path]) -> None:
    uri, work = project
    passed = _gate(uri, work, *GATE, "--json")
    assert passed.returncode == 0, passed.stderr
    report = json.loads(passed.stdout)
    assert report["passed"] and report["metrics"]["correct/mean"] == 1.0
    first_run = report["run_id"]

    xml = work / "gate.xml"
    failed = _gate(
        uri, work, *GATE, "--baseline", "latest", "--fail-on-regression", "0",
        "--junit-xml", str(xml), version="broken",
    )  # fmt: skip
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "quality gate FAILED" in failed.stdout and f"baseline: {first_run}" in failed.stdout
    suite = ElementTree.parse(xml).getroot()
    assert suite.tag == "testsuite" and suite.get("failures") == "2"
    failures = {
        case.get("name"): case.find("failure").get("message")  # type: ignore[union-attr]
        for case in suite.iter("testcase")
        if case.find("failure") is not None
    }
    assert failures["correct/mean >= 1"] == "correct/mean = 0.5"
    assert failures["regressions <= 0"].startswith(
        f"2 record score(s) regressed against {first_run}"
    )

    by_id = _gate(uri, work, *GATE, "--baseline", first_run, "--fail-on-regression", "5")
    assert by_id.returncode == 0, by_id.stdout  # the good app again: no regression


def test_the_gate_says_why_it_could_not_run(project: tuple[str, Path]) -> None:
    uri, work = project
    raised = _gate(uri, work, *GATE, version="raises")
    assert raised.returncode == 3, raised.stdout + raised.stderr
    assert "predict_fn raised on 1 of 2 record(s)" in raised.stdout
    for args, message in (
        (["--dataset", "missing", "--predict", "app:answer"], "dataset"),
        (["--dataset", "golden", "--predict", "nowhere:answer"], "No module named 'nowhere'"),
        (["--dataset", "golden", "--predict", "app:absent"], "absent"),
        (["--dataset", "golden", "--predict", "app:answer", "--fail-under", "x"], "METRIC=NUMBER"),
        (["--dataset", "golden", "--predict", "app:answer", "--baseline", "run-nope"], "run-nope"),
    ):
        done = _gate(uri, work, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_assert_quality_lists_what_failed(store_uri: str) -> None:
    @scorer
    def correct(outputs: Any, expectations: dict) -> bool:
        return outputs == expectations["answer"]

    data = [
        {"inputs": {"q": "a"}, "expectations": {"answer": "A"}},
        {"inputs": {"q": "b"}, "expectations": {"answer": "B"}},
    ]
    good = evaltrace.evaluate(data=data, predict_fn=lambda q: q.upper(), scorers=[correct])
    assert assert_quality(good, fail_under={"correct/mean": 1.0}).passed
    worse = evaltrace.evaluate(data=data, predict_fn=lambda q: "A", scorers=[correct])
    with pytest.raises(AssertionError) as failed:
        assert_quality(
            worse, fail_under={"correct/mean": 0.9}, baseline="latest", fail_on_regression=0
        )
    message = str(failed.value)
    assert "correct/mean >= 0.9: correct/mean = 0.5" in message
    assert f"1 record score(s) regressed against {good.run_id}" in message
