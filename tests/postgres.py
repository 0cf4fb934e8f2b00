"""A throwaway PostgreSQL server for the test session.

``EVALTRACE_TEST_POSTGRES_URI`` (a server URL such as
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) points the tests at a running
server. Without it, the tests start their own cluster from Debian's ``postgresql`` package
(``initdb`` + ``pg_ctl`` under /usr/lib/postgresql/*/bin, as the ``postgres`` user when run as
root) in a temporary directory on a free 127.0.0.1 port, and stop it at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["find_pg_bin", "postgres_server"]


def find_pg_bin() -> str | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    found = candidates[0] if candidates else shutil.which("initdb")
    return os.path.dirname(found) if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def postgres_server(bin_dir: str) -> Iterator[str]:
    """Start a cluster; yield its server URL (database ``postgres``)."""
    root = tempfile.mkdtemp(prefix="evaltrace-pg-")
    data = os.path.join(root, "data")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    run = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    subprocess.run(
        _as_postgres([f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "postgres"]), **run
    )
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    subprocess.run(
        _as_postgres(
            [f"{bin_dir}/pg_ctl", "-D", data, "-o", options, "-l", f"{root}/log", "-w", "start"]
        ),
        **run,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        shutil.rmtree(root, ignore_errors=True)
