"""The Session: one owner of settings, tracking URI, stores and the active experiment."""

from __future__ import annotations

import importlib
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import evaltrace
from evaltrace._session import Session, get_session, install_session
from evaltrace.datasets import create_dataset
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.tracer.export import InMemoryTraceExporter


@evaltrace.trace
def handle(i: int) -> int:
    return i


def experiment_of_last_trace() -> str:
    trace_id = evaltrace.get_last_active_trace_id()
    assert trace_id is not None
    return evaltrace.get_trace(trace_id).info.experiment_id


def named(name: str) -> str:
    found = evaltrace.get_experiment_by_name(name)
    assert found is not None, f"experiment {name!r} was never created"
    return found.experiment_id


def test_a_named_experiment_is_created_for_traces_that_went_through_the_spool(
    tmp_path: Path,
) -> None:
    later = tmp_path / "later"  # the store is unreachable until this directory exists
    evaltrace.configure(tracking_uri=f"sqlite:///{later / 'db.sqlite'}", experiment_name="bot")
    handle(1)
    assert evaltrace.flush(timeout=1) is False  # spooled
    later.mkdir()
    assert evaltrace.recover(timeout=30)
    assert experiment_of_last_trace() == named("bot") != "0"


def test_the_experiment_named_in_the_environment_is_used_everywhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("EVALTRACE_EXPERIMENT_NAME", "from-env")
    install_session(Session(tracking_uri=f"sqlite:///{tmp_path / 'env.db'}"))
    result = evaluate_one_row()
    experiment_id = named("from-env")
    run = evaltrace.get_evaluation_run(result.run_id)
    assert run.experiment_id == experiment_id  # the run where its traces are
    row_trace = evaltrace.get_trace(result.tables["eval_results_table"]["trace_id"][0])
    assert row_trace.info.experiment_id == experiment_id
    assert create_dataset("linked").experiment_ids == [experiment_id]


def evaluate_one_row() -> Any:
    return evaltrace.evaluate(data=[{"inputs": {"i": 1}}], predict_fn=handle, scorers=[])


def test_the_experiment_of_a_configured_name_is_found_right_after_a_traced_call() -> None:
    """configure(experiment_name=...), one traced call, get_experiment_by_name: None most of
    the time (the writer had not stored the trace that makes the experiment)."""
    evaltrace.configure(experiment_name="made-by-the-writer")

    @evaltrace.trace
    def call() -> int:
        return 1

    get_session().store()  # opened (migrated) before the lock is taken
    call()
    # Another process holds the write lock for a moment: the writer waits for it.
    path = get_session().tracking_uri.removeprefix("sqlite:///")
    other = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, other.commit).start()
    found = evaltrace.get_experiment_by_name("made-by-the-writer")
    assert found is not None and found.name == "made-by-the-writer"


def test_evaluate_stores_its_run_in_the_configured_experiment() -> None:
    evaltrace.configure(experiment_name="evals")
    result = evaluate_one_row()
    assert evaltrace.get_evaluation_run(result.run_id).experiment_id == named("evals")


def test_switching_stores_finds_or_makes_the_active_experiment_in_the_new_one(
    tmp_path: Path,
) -> None:
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    evaltrace.set_tracking_uri(first)
    for name in ("padding-1", "padding-2", "bot"):  # "bot" gets id 3 in the first store only
        evaltrace.set_experiment(name)
    handle(1)
    assert experiment_of_last_trace() == named("bot")
    evaltrace.set_tracking_uri(second)
    handle(2)  # was dropped: FOREIGN KEY failed on id 3, which the second store does not have
    assert experiment_of_last_trace() == named("bot")
    assert evaltrace.get_tracking_uri() == second


def test_the_later_of_set_tracking_uri_and_configure_wins(tmp_path: Path) -> None:
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db"))
    evaltrace.set_tracking_uri(first)
    evaltrace.configure(tracking_uri=second)
    assert evaltrace.get_tracking_uri() == second
    evaltrace.set_tracking_uri(first)
    assert evaltrace.get_tracking_uri() == first


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("max_queue_size", "lots", "setting max_queue_size must be a int, got 'lots'"),
        ("batch_size", 0, "setting batch_size must be at least 1, got 0"),
        ("eval_max_workers", 0, "setting eval_max_workers must be at least 1"),
        ("async_logging", "yes", "setting async_logging must be a bool"),
        ("max_queue_size", True, "setting max_queue_size must be a int, got True"),
        ("tracking_uri", "  ", "setting tracking_uri must not be empty"),
    ],
)
def test_configure_checks_each_value_and_changes_nothing_when_one_is_bad(
    setting: str, value: object, message: str
) -> None:
    before = get_session().settings
    with pytest.raises(InvalidArgumentError, match=message):
        evaltrace.configure(user="bob", **{setting: value})
    assert get_session().settings == before


def test_configure_rejects_an_unknown_setting_as_python_does() -> None:
    with pytest.raises(TypeError, match="max_queue"):
        evaltrace.configure(max_queue=5)  # type: ignore[call-arg]


def test_configure_returns_the_settings_in_force() -> None:
    settings = evaltrace.configure(batch_size=7, flush_on_exit_timeout=2)
    assert isinstance(settings, evaltrace.Settings)
    assert (settings.batch_size, settings.flush_on_exit_timeout) == (7, 2.0)


def test_a_bad_environment_variable_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALTRACE_BATCH_SIZE", "0")
    with pytest.raises(InvalidArgumentError, match="EVALTRACE_BATCH_SIZE must be at least 1"):
        Session().settings  # noqa: B018


def test_sessions_do_not_share_state(tmp_path: Path) -> None:
    a = Session(tracking_uri=f"sqlite:///{tmp_path / 'a.db'}", user="alice")
    b = Session(tracking_uri=f"sqlite:///{tmp_path / 'b.db'}")
    try:
        a.set_experiment("only-in-a")
        assert a.store().get_experiment_by_name("only-in-a") is not None
        assert b.store().get_experiment_by_name("only-in-a") is None
        assert (a.settings.user, b.settings.user) == ("alice", None)
        assert b.experiment_id() == "0"
    finally:
        a.close()
        b.close()


def test_the_in_memory_exporter_sees_every_finished_trace(
    trace_exporter: InMemoryTraceExporter,
) -> None:
    with evaltrace.start_span("outer") as span:
        span.set_inputs({"q": 1})
        handle(3)
    (trace,) = trace_exporter.traces
    assert [s.name for s in trace.data.spans] == ["outer", "handle"]
    assert trace.data.spans[0].inputs == {"q": 1}
    assert trace_exporter.finished[0].destination.experiment.experiment_id == "0"


_SQLALCHEMY_INSTRUMENTED_APP = """
import time
from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
# Every engine made from now on is traced (its pinned range lags SQLAlchemy's releases).
SQLAlchemyInstrumentor().instrument(skip_dep_check=True)
import evaltrace
evaltrace.configure(tracking_uri={uri!r}, spool_dir={spool!r})

@evaltrace.trace
def handle(i):
    return i

handle(1)
for _ in range(3):  # each write by the writer would have been traced, and written, ...
    evaltrace.flush(timeout=30)
    time.sleep(0.3)
print(len(evaltrace.search_traces(return_type="list")))
from evaltrace._session import get_session
print(get_session().export_stats())
"""


def test_the_writer_never_traces_its_own_writes(tmp_path: Path) -> None:
    """With the real SQLAlchemy instrumentation on the global provider we join, the writer's
    INSERTs would be traced: one traced call made thousands of stored traces."""
    uri = f"sqlite:///{tmp_path / 'app.db'}"
    code = _SQLALCHEMY_INSTRUMENTED_APP.format(uri=uri, spool=str(tmp_path / "spool"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    env["EVALTRACE_USE_GLOBAL_PROVIDER"] = "1"
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the writer kept tracing its own writes (no end of traces within 60 s)")
    assert result.returncode == 0, result.stderr
    count, stats = result.stdout.splitlines()
    assert count == "1", stats
    assert stats == "ExportStats(written=1, spilled=0, dropped=0, queued=0, last_error=None)"


def test_a_second_session_does_not_take_over_tracing(tmp_path: Path) -> None:
    other = Session(tracking_uri=f"sqlite:///{tmp_path / 'other.db'}")
    try:
        other.flush(timeout=5)  # starts its pipeline
        handle(1)
        assert len(evaltrace.search_traces(return_type="list")) == 1  # the default session's
        assert other.export_stats().written == 0
    finally:
        other.close()


def test_two_apps_over_two_stores_in_one_process_each_answer_from_their_own(
    tmp_path: Path,
) -> None:
    """create_app(B) made B the process's session: app A's /api/traces then answered from B's
    store while its /api/experiments still answered from A's."""
    from starlette.testclient import TestClient

    from evaltrace.server import create_app
    from tests.store.test_sql_store import make_trace

    sessions = {
        name: Session(tracking_uri=f"sqlite:///{tmp_path / name}.db", spool=False)
        for name in ("a", "b")
    }
    for n, (name, session) in enumerate(sessions.items()):
        session.store().write_traces([make_trace(n)])
        session.set_experiment(f"experiment-{name}")
        session.create_dataset(f"dataset-{name}")
    installed = get_session()
    apps = {name: create_app(session, token="t") for name, session in sessions.items()}
    assert get_session() is installed  # neither app took over the process's session
    headers = {"Authorization": "Bearer t"}
    for n, name in enumerate(("a", "b")):
        with TestClient(apps[name], base_url="http://127.0.0.1") as client:
            traces = client.get("/api/traces", headers=headers).json()["traces"]
            assert [t["trace_id"] for t in traces] == [f"tr-{n:032x}"]
            found = client.get("/api/experiments", headers=headers).json()["experiments"]
            names = {e["name"] for e in found}
            assert f"experiment-{name}" in names and len(names) == 2  # its own and "Default"
            datasets = client.get("/api/datasets", headers=headers).json()["datasets"]
            assert [d["name"] for d in datasets] == [f"dataset-{name}"]
    assert installed.search_datasets() == []  # nothing reached the default session's store
    for session in sessions.values():
        session.close()


def test_every_verb_of_a_session_runs_with_that_session_in_use(tmp_path: Path) -> None:
    session = Session(tracking_uri=f"sqlite:///{tmp_path / 'own.db'}", spool=False)
    dataset = session.create_dataset("mine")
    assert [d.name for d in session.search_datasets()] == ["mine"] == [dataset.name]
    assert evaltrace.datasets.search_datasets() == []  # the default session's store
    with session.use():
        assert get_session() is session
        assert [d.name for d in evaltrace.datasets.search_datasets()] == ["mine"]
    assert get_session() is not session
    verbs = [v.verb_of for v in vars(Session).values() if hasattr(v, "verb_of")]
    assert len(verbs) > 30
    for module, name in verbs:
        assert callable(getattr(importlib.import_module(module), name)), name
    session.close()


def test_objects_a_session_returns_act_on_that_session(tmp_path: Path) -> None:
    """A dataset made by session.create_dataset merged into the default session's store when
    its methods were called outside a use() block."""
    from evaltrace.labeling import InputText

    session = Session(tracking_uri=f"sqlite:///{tmp_path / 'own.db'}", spool=False)
    dataset = session.create_dataset("mine")
    dataset.merge_records([{"inputs": {"q": "a"}}])  # outside any use() block
    assert [r.inputs for r in session.get_dataset("mine").records] == [{"q": "a"}]
    assert evaltrace.datasets.search_datasets() == []  # the default session's store
    session.create_label_schema("quality", type="feedback", title="Quality?", input=InputText())
    labeling = session.create_labeling_session("review", label_schemas=["quality"])
    synced = labeling.sync("from-labels")
    assert [d.name for d in session.search_datasets()] == ["from-labels", "mine"]
    assert synced.records == []
    assert evaltrace.datasets.search_datasets() == []
    session.close()
