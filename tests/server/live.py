"""The real server in its own process, and stores seeded by tests/server/seed.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_env(spool_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVALTRACE_")}
    env.update(EVALTRACE_SPOOL_DIR=str(spool_dir), PYTHONPATH=str(ROOT), **extra)
    return env


def last_line_of(args: list[str], spool_dir: Path, **env: str) -> str:
    """Run a program (a client, a traced app) in its own process with evaltrace's settings
    cleared; the last line it printed (an id, as a rule)."""
    done = subprocess.run(
        args,
        env=child_env(spool_dir, **env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def seed(uri: str, spool_dir: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.server.seed", uri],
        env=child_env(spool_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@contextmanager
def running_server(
    uri: str, spool_dir: Path, *, port: int | None = None, **env: str
) -> Iterator[str]:
    """``evaltrace server`` on a loopback port (a free one unless given); yields its base URL."""
    with server_process(uri, spool_dir, port=port, **env) as (base, _):
        yield base


@contextmanager
def server_process(
    uri: str, spool_dir: Path, *, port: int | None = None, **env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``running_server``, yielding the process too (to kill it)."""
    port = port or free_port()
    spool_dir.mkdir(parents=True, exist_ok=True)
    log_path = spool_dir.parent / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "evaltrace.cli", "server", "--port", str(port)],
            env=child_env(spool_dir, EVALTRACE_TRACKING_URI=uri, **env),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited: {log_path.read_text()}")
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not answer /health within 60 s")
            time.sleep(0.1)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
