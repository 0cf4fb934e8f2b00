"""The seams are strictly typed: ``mypy --strict`` passes on the store (its facets' protocols and
their SQL implementation), the Session and the facade, so an HTTP store implementing the same
protocols is checked against them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRICT = [
    "evaltrace/store",
    "evaltrace/_session.py",
    "evaltrace/__init__.py",
    "evaltrace/client.py",
]


def test_the_store_the_session_and_the_facade_pass_mypy_strict(tmp_path: Path) -> None:
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    done = subprocess.run(
        [*mypy, "--cache-dir", str(tmp_path), *STRICT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
