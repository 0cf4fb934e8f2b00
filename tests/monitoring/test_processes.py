"""The monitor worker as its own process (``evaltrace monitor``), against application
processes: through a spool after a PostgreSQL outage, several workers sharing PostgreSQL, a
worker SIGKILLed mid-batch, and SQLite's one-worker-at-a-time lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import evaltrace
from evaltrace._session import get_session
from evaltrace.entities import Feedback
from evaltrace.monitoring import MonitorWorker
from evaltrace.scorers import ScorerSamplingConfig
from evaltrace.store import sql_store
from evaltrace.store.trace_rows import traces_rows
from tests.monitoring.app_scorers import answer_length, slow_length
from tests.postgres import PostgresCluster
from tests.store.test_sql_store import make_trace
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


def environment(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    env.pop("EVALTRACE_RAISE_INTERNAL_ERRORS", None)
    return env


def traffic(uri: str, first: int, count: int, spool: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.monitoring.traffic", uri, str(first), str(count)],
        env=environment(EVALTRACE_SPOOL_DIR=str(spool)),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr


def monitor(uri: str, *options: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "evaltrace.cli", "monitor", "--tracking-uri", uri, *options],
        env=environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def outcomes() -> dict[tuple[str, str, int], str]:
    return dict(get_session().store().monitors.outcomes(get_session().experiment_id()))


def feedback_counts() -> Counter[str]:
    counts: Counter[str] = Counter()
    for trace in evaltrace.search_traces(return_type="list", max_results=10_000):
        counts[trace.info.trace_id] = sum(
            1 for a in trace.info.assessments if isinstance(a, Feedback)
        )
    return counts


def test_traces_spooled_through_an_outage_are_judged_once(
    cluster: PostgresCluster, tmp_path: Path
) -> None:
    answer_length.register(name="length").start()
    get_session().release_connections()
    spool = tmp_path / "app-spool"
    traffic(cluster.url, 0, 20, spool)
    cluster.stop()
    traffic(cluster.url, 20, 20, spool)  # the store is down: these go to the spool
    assert list(spool.glob("*")), "the outage should have spooled traces"
    cluster.start()
    traffic(cluster.url, 40, 0, spool)  # the next app process replays the dead one's spool
    worker = monitor(cluster.url, "--once")
    _, stderr = worker.communicate(timeout=120)
    assert worker.returncode == 0, stderr
    assert "read 40 new trace(s), judged 40" in stderr
    found = outcomes()
    assert len(found) == 40 and set(found.values()) == {"scored"}
    assert set(feedback_counts().values()) == {1}


def test_workers_share_postgres_and_a_killed_workers_claims_are_retaken(
    cluster: PostgresCluster, tmp_path: Path
) -> None:
    slow_length.register(name="slow").start()
    get_session().release_connections()
    traffic(cluster.url, 0, 60, tmp_path / "spool")
    options = ("--claim-seconds", "4", "--batch-size", "6", "-c", "2", "--poll-seconds", "0.1")
    first = monitor(cluster.url, *options, MONITOR_TEST_DELAY="0.5")  # 1.5 s a batch
    try:
        assert eventually(lambda: {"claimed", "scored"} <= set(outcomes().values()), timeout=60), (
            "the first worker should have finished a batch and be judging the next"
        )
    finally:
        first.send_signal(signal.SIGKILL)  # in the middle of a batch
        first.communicate()
    held = [key for key, state in outcomes().items() if state == "claimed"]
    others = [monitor(cluster.url, *options, MONITOR_TEST_DELAY="0.02") for _ in range(2)]
    try:
        assert eventually(
            lambda: len(outcomes()) == 60 and set(outcomes().values()) == {"scored"},
            timeout=120,
        ), Counter(outcomes().values())
    finally:
        for other in others:
            other.send_signal(signal.SIGTERM)
        logs = [other.communicate(timeout=60)[1] for other in others]
    assert all(other.returncode == 0 for other in others), logs
    assert set(feedback_counts().values()) == {1}  # none judged twice, none skipped
    attempts = get_session().store().monitors.attempts(get_session().experiment_id())
    assert held and all(attempts[key] == 2 for key in held)  # retaken after the claim expired


def test_sqlite_runs_one_worker_at_a_time(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'one.db'}"
    evaltrace.set_tracking_uri(uri)
    answer_length.register(name="length").start()
    traffic(uri, 0, 5, tmp_path / "spool")
    running = monitor(uri, "--poll-seconds", "0.1")
    try:
        assert eventually(lambda: set(outcomes().values()) == {"scored"}, timeout=60)
        second = monitor(uri, "--once")
        _, stderr = second.communicate(timeout=60)
        assert second.returncode == 1
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: another monitor worker (pid ")
    finally:
        running.send_signal(signal.SIGTERM)
        _, stderr = running.communicate(timeout=60)
    assert running.returncode == 0, stderr
    third = monitor(uri, "--once")  # the lease was released on exit
    assert third.communicate(timeout=60) and third.returncode == 0


def test_postgres_a_slow_writers_traces_are_not_skipped(postgres_uri: str) -> None:
    """A change numbered before another but committed after it is read once it commits."""
    evaltrace.set_tracking_uri(postgres_uri)
    answer_length.register(name="length").start()
    store = get_session().store()
    now = int(time.time() * 1000)
    slow_trace, fast_trace = make_trace(1, request_time=now), make_trace(2, request_time=now)
    written, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with store.db.write() as connection:
            store._insert_rows(connection, sql_store._rows_of(traces_rows([slow_trace])))
            written.set()
            release.wait(30)

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert written.wait(30)
        store.write_traces([fast_trace])  # numbered after the slow one, committed first
        MonitorWorker(store).run(threading.Event(), once=True)
        assert outcomes() == {}  # the slow transaction is still open: nothing read past it
    finally:
        release.set()
        thread.join()
    MonitorWorker(store).run(threading.Event(), once=True)
    assert sorted(outcomes().values()) == ["scored", "scored"]


def test_sampling_decisions_are_the_same_in_every_worker(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'sampled.db'}"
    evaltrace.set_tracking_uri(uri)
    answer_length.register(name="length").start(
        sampling_config=ScorerSamplingConfig(sample_rate=0.3)
    )
    traffic(uri, 0, 50, tmp_path / "spool")
    worker = monitor(uri, "--once")
    worker.communicate(timeout=60)
    first = outcomes()
    from evaltrace.entities.monitoring import is_sampled

    expected = {
        key: ("scored" if is_sampled(key[0], "length", 0.3) else "sampled_out") for key in first
    }
    assert len(first) == 50 and first == expected


def test_a_running_worker_waits_out_a_store_outage(
    cluster: PostgresCluster, tmp_path: Path
) -> None:
    answer_length.register(name="length").start()
    get_session().release_connections()
    traffic(cluster.url, 0, 5, tmp_path / "spool")
    # A password in the URI (trust authentication ignores it) never reaches the log.
    with_password = cluster.url.replace("postgres@", "postgres:s3cret-pw@", 1)
    worker = monitor(with_password, "--poll-seconds", "0.1", "--claim-seconds", "2")
    try:
        assert eventually(lambda: len(outcomes()) == 5, timeout=60)
        get_session().release_connections()
        cluster.stop()
        time.sleep(2)  # the worker finds the store gone, and keeps running
        assert worker.poll() is None
        cluster.start()
        traffic(cluster.url, 5, 5, tmp_path / "spool")
        assert eventually(
            lambda: len(outcomes()) == 10 and set(outcomes().values()) == {"scored"}, timeout=90
        ), Counter(outcomes().values())
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
    assert worker.returncode == 0, stderr
    assert "the store is unreachable, trying again" in stderr
    assert "s3cret-pw" not in stderr and "postgres:***@" in stderr
    assert set(feedback_counts().values()) == {1}
