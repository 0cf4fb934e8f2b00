"""What the server's process sets up for itself (``app_from_environment``, uvicorn's factory)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.otlp.requests import new_trace_id, post, request, span
from tests.server.live import ROOT, child_env, running_server


def test_the_server_process_freezes_its_start_up_objects_and_collects_less_often(
    tmp_path: Path,
) -> None:
    script = (
        "import gc\n"
        "from evaltrace.server import GC_THRESHOLDS, app_from_environment\n"
        "assert gc.get_threshold() != GC_THRESHOLDS and gc.get_freeze_count() == 0\n"
        "app_from_environment()\n"
        "assert gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()\n"
        "print('ok')\n"
    )
    env = child_env(tmp_path / "spool", EVALTRACE_TRACKING_URI=f"sqlite:///{tmp_path / 's.db'}")
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_sigterm_checkpoints_the_sqlite_wal_and_removes_it(tmp_path: Path) -> None:
    """After SIGTERM the -wal file stayed: the store's connections were never closed."""
    database = tmp_path / "served.db"
    with running_server(f"sqlite:///{database}", tmp_path / "spool") as base:
        trace_id = new_trace_id()
        sent = post(base, request(span(trace_id, b"\x01" * 8, "written-by-server")))
        assert sent.status_code == 200, sent.text
        assert Path(f"{database}-wal").exists()
    # running_server's exit sent SIGTERM and waited for the process to end
    assert not Path(f"{database}-wal").exists()
    with sqlite3.connect(database) as connection:
        names = [row[0] for row in connection.execute("SELECT name FROM spans")]
    assert names == ["written-by-server"]
