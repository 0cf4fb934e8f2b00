"""Registered scorers: versions, sampling, lifecycle, and how they are stored and loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import evaltrace
from evaltrace._session import get_session
from evaltrace.entities.monitoring import ScorerSamplingConfig, is_sampled
from evaltrace.exceptions import (
    InvalidArgumentError,
    InvalidFilterError,
    ScorerLoadError,
    ScorerNotFoundError,
)
from evaltrace.monitoring import MonitorWorker, definitions, monitor_status
from evaltrace.monitoring.registry import UnloadableScorer
from evaltrace.scorers import (
    Guidelines,
    delete_scorer,
    get_scorer,
    list_scorers,
    scorer,
)
from tests.monitoring.app_scorers import LongerThan, answer_length

pytestmark = pytest.mark.usefixtures("store_uri")


def test_register_start_update_stop_keep_each_object_unchanged() -> None:
    registered = answer_length.register(name="length")
    assert (registered.status, registered.version, registered.sample_rate) == ("stopped", 1, 0.0)
    assert answer_length.status == "unregistered"  # a new object each time
    active = registered.start(sampling_config=ScorerSamplingConfig(sample_rate=0.25))
    assert (active.status, active.sample_rate, registered.status) == ("active", 0.25, "stopped")
    updated = active.update(sampling_config=ScorerSamplingConfig(filter_string="status = 'OK'"))
    assert (updated.sample_rate, updated.filter_string) == (0.25, "status = 'OK'")
    stopped = updated.stop()
    assert (stopped.status, stopped.sample_rate) == ("stopped", 0.0)
    assert [s.name for s in list_scorers()] == ["length"]
    assert get_scorer(name="length").run(outputs="abcd") == 4  # loaded back, callable


def test_a_changed_scorer_is_a_new_version_and_an_unchanged_one_is_not() -> None:
    assert LongerThan(limit=3).register().version == 1
    assert LongerThan(limit=3).register().version == 1
    assert LongerThan(limit=9).register().version == 2
    assert get_scorer(name="longer_than").limit == 9
    assert get_scorer(name="longer_than", version=1).limit == 3
    with pytest.raises(InvalidArgumentError, match="current version"):
        delete_scorer(name="longer_than", version=2)
    delete_scorer(name="longer_than", version=1)
    with pytest.raises(ScorerNotFoundError, match="version 1"):
        get_scorer(name="longer_than", version=1)
    delete_scorer(name="longer_than")
    assert list_scorers() == []


def test_definitions_by_kind_and_no_secret_stored() -> None:
    kind, definition = definitions.describe(answer_length, "n")
    assert (kind, definition["path"]) == ("import", "tests.monitoring.app_scorers:answer_length")
    kind, definition = definitions.describe(LongerThan(limit=7), "n")
    assert (kind, definition["arguments"]) == ("class", {"limit": 7, "name": "n"})
    judge = Guidelines(
        guidelines="Be polite",
        api_key="sk-live-0123456789abcdef0123",
        extra_headers={"Authorization": "Bearer abc.def.ghi", "X-Team": "search"},
    )
    kind, definition = definitions.describe(judge, "polite")
    assert kind == "judge"
    assert definition["arguments"]["guidelines"] == ["Be polite"]
    assert definition["arguments"]["extra_headers"] == {"X-Team": "search"}
    assert "sk-live" not in str(definition) and "abc.def" not in str(definition)
    loaded = definitions.load(kind, definition, where="polite")
    assert (loaded.guidelines, loaded.model, loaded.api_key) == (["Be polite"], "gpt-4o-mini", None)


def test_a_scorer_defined_in_main_is_stored_by_its_source(tmp_path: Path) -> None:
    script = tmp_path / "notebook.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import evaltrace
            from evaltrace.scorers import scorer
            evaltrace.set_tracking_uri({get_session().tracking_uri!r})

            @scorer(name="shouting")
            def shouting(outputs):
                return str(outputs).isupper()

            print(shouting.register().version)
            """
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    registration = get_session().store().monitors.get(get_session().experiment_id(), "shouting")
    assert registration.kind == "source"
    assert "@scorer" not in registration.definition["source"]
    loaded = get_scorer(name="shouting")
    assert loaded.run(outputs="HEY") is True and loaded.run(outputs="hey") is False


def test_a_notebook_scorer_using_a_module_import_is_warned_about_and_its_error_shown(
    tmp_path: Path,
) -> None:
    """A scorer failing on every trace (NameError: its module-level import is not stored)
    showed only counts; register() said nothing."""
    script = tmp_path / "notebook.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json
            import evaltrace
            from evaltrace.scorers import scorer
            evaltrace.set_tracking_uri({get_session().tracking_uri!r})
            LIMIT = 3

            @scorer(name="parses")
            def parses(outputs):
                import re
                return bool(re.match("a", json.dumps(outputs))) and len(outputs) > LIMIT

            parses.register().start()
            """
        )
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "uses LIMIT, json, which the monitor worker will not have" in done.stderr

    @evaltrace.trace
    def app(question: str) -> str:
        return "answer"

    app("q")
    evaltrace.flush()
    before = int(time.time() * 1000)
    MonitorWorker(get_session().store()).run(threading.Event(), once=True)
    (status,) = monitor_status(get_session().experiment_id())
    assert status.counts == {"error": 1}
    assert status.last_error == "NameError: name 'json' is not defined"
    assert status.last_error_time_ms is not None and status.last_error_time_ms >= before - 1000
    assert status.to_dict()["last_error"] == status.last_error


def test_a_scorer_that_cannot_be_loaded_is_listed_and_says_why() -> None:
    monitors = get_session().store().monitors
    experiment = get_session().experiment_id()
    monitors.register(experiment, "gone", "import", {"path": "no_such_module:f", "name": "gone"})
    (found,) = list_scorers()
    assert isinstance(found, UnloadableScorer)
    with pytest.raises(ScorerLoadError, match="no_such_module"):
        found.run(outputs="x")


def test_bad_input_is_a_typed_error_and_writes_nothing() -> None:
    with pytest.raises(InvalidArgumentError, match="sample_rate"):
        ScorerSamplingConfig(sample_rate=1.5)
    with pytest.raises(InvalidArgumentError, match="max_per_hour"):
        ScorerSamplingConfig(max_per_hour=0)
    with pytest.raises(ScorerNotFoundError, match="'nope'"):
        answer_length.start(name="nope")
    registered = answer_length.register(name="length")
    with pytest.raises(InvalidFilterError):
        registered.start(sampling_config=ScorerSamplingConfig(filter_string="nonsense ==="))
    assert get_scorer(name="length").status == "stopped"
    with pytest.raises(InvalidArgumentError, match="at most"):
        answer_length.register(name="x" * 300)
    with pytest.raises(InvalidArgumentError, match="a lambda cannot be registered"):
        scorer(lambda outputs: 1, name="lambda").register()
    limit = 3

    @scorer
    def closure(outputs: object) -> bool:
        return len(str(outputs)) > limit

    with pytest.raises(InvalidArgumentError, match=r"uses variables .*\(limit\)"):
        closure.register()
    assert [s.name for s in list_scorers()] == ["length"]


def test_sampling_is_a_stable_hash_at_the_asked_rate() -> None:
    ids = [f"tr-{i:032x}" for i in range(20_000)]
    chosen = [t for t in ids if is_sampled(t, "safety", 0.1)]
    assert 1800 < len(chosen) < 2200
    assert chosen == [t for t in ids if is_sampled(t, "safety", 0.1)]
    other = {t for t in ids if is_sampled(t, "tone", 0.1)}
    assert len(other & set(chosen)) < 400  # independent per scorer name
    assert all(is_sampled(t, "x", 1.0) for t in ids[:10])
    assert not any(is_sampled(t, "x", 0.0) for t in ids[:10])
    assert evaltrace.scorers.ScorerSamplingConfig is ScorerSamplingConfig
