"""The public surface is pinned: a change to it is a deliberate change to this test."""

from __future__ import annotations

import subprocess
import sys

import evaltrace
from evaltrace import exceptions

EXPECTED = {
    *exceptions.__all__,
    "DatasetRecord",
    "DatasetRecordSource",
    "DatasetRecordSourceType",
    "DatasetVersion",
    "EvaluationDataset",
    "EvaluationResult",
    "EvaluationRun",
    "ExportStats",
    "PagedList",
    "RunComparison",
    "ValidationReport",
    "Session",
    "Settings",
    "Assessment",
    "AssessmentError",
    "AssessmentSource",
    "AssessmentSourceType",
    "Expectation",
    "Feedback",
    "DetachedSpan",
    "delete_prompt_alias",
    "load_prompt",
    "register_prompt",
    "search_prompts",
    "set_prompt_alias",
    "set_prompt_version_tag",
    "search_sessions",
    "MlflowClient",
    "ViewType",
    "create_experiment",
    "delete_experiment",
    "delete_experiment_tag",
    "get_experiment",
    "rename_experiment",
    "restore_experiment",
    "search_experiments",
    "set_experiment_tag",
    "set_experiment_tags",
    "add_trace",
    "flush_trace_async_logging",
    "start_span_no_context",
    "delete_assessment",
    "delete_trace_tag",
    "delete_traces",
    "get_assessment",
    "get_assessment_history",
    "log_assessment",
    "log_expectation",
    "log_expectations",
    "log_feedback",
    "log_feedbacks",
    "override_feedback",
    "update_assessment",
    "datasets",
    "compare_runs",
    "evaluate",
    "genai",
    "get_evaluation_run",
    "search_evaluation_runs",
    "openai",
    "set_redaction_callback",
    "set_trace_tag",
    "recover",
    "Experiment",
    "LiveSpan",
    "Span",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceState",
    "__version__",
    "add_span_processor",
    "configure",
    "export_status",
    "flush",
    "get_active_trace_id",
    "get_current_active_span",
    "get_experiment_by_name",
    "get_last_active_trace_id",
    "get_trace",
    "log_trace",
    "get_tracking_uri",
    "search_traces",
    "set_experiment",
    "set_tracking_uri",
    "start_span",
    "trace",
    "tracing",
    "update_current_trace",
    "with_current_context",
}


def test_all_is_pinned_and_importable() -> None:
    assert set(evaltrace.__all__) == EXPECTED
    for name in evaltrace.__all__:
        assert hasattr(evaltrace, name), name


def test_exceptions_form_one_hierarchy() -> None:
    for name in exceptions.__all__:
        error = getattr(exceptions, name)
        assert getattr(evaltrace, name) is error
        assert issubclass(error, exceptions.EvaltraceError)
    assert issubclass(exceptions.TraceNotFoundError, LookupError)
    assert issubclass(exceptions.InvalidArgumentError, ValueError)


def test_import_is_light() -> None:
    """Tracing code pays for none of the heavy dependencies, nor for asyncio (a tenth of the
    import) or the labeling/scorer/monitoring packages (a sixth), which load on first use."""
    code = (
        "import sys, evaltrace\n"
        "heavy = {'pandas', 'openai', 'sqlalchemy', 'alembic', 'asyncio',\n"
        "         'evaltrace.scorers', 'evaltrace.labeling', 'evaltrace.monitoring'}\n"
        "assert not heavy & set(sys.modules), heavy & set(sys.modules)\n"
        "assert evaltrace.genai.scorers.Correctness and evaltrace.genai.labeling\n"
        "assert 'evaltrace.monitoring' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_type_checkers_see_the_installed_package(tmp_path) -> None:
    """After `pip install -e .` a type checker run outside the checkout finds evaltrace's types
    (setuptools' editable import hook hid them from mypy: every name was Any)."""
    (tmp_path / "app.py").write_text(
        "import evaltrace\n"
        'reveal_type(evaltrace.search_traces(return_type="list"))\n'
        'reveal_type(evaltrace.Feedback(name="relevance", value=1.0))\n'
    )
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", str(tmp_path), "app.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},  # no MYPYPATH, no PYTHONPATH
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'Revealed type is "evaltrace.client.PagedList"' in checked.stdout
    assert 'Revealed type is "evaltrace.entities.assessment.Feedback"' in checked.stdout
