"""What the server's process sets up for itself (``app_from_environment``, uvicorn's factory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.server.live import ROOT, child_env


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
