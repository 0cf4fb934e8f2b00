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
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["PostgresCluster", "find_pg_bin", "postgres_server"]


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


class PostgresCluster:
    """A throwaway cluster in a temporary directory, on a free port, that can stop and restart."""

    def __init__(self, bin_dir: str) -> None:
        self.bin_dir = bin_dir
        self.root = tempfile.mkdtemp(prefix="evaltrace-pg-")
        self.data = os.path.join(self.root, "data")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.port = _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        subprocess.run(
            _as_postgres([f"{bin_dir}/initdb", "-D", self.data, "-A", "trust", "-U", "postgres"]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=200"
        )
        command = [f"{self.bin_dir}/pg_ctl", "-D", self.data, "-o", options]
        subprocess.run(
            _as_postgres([*command, "-l", f"{self.root}/log", "-w", "start"]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(
                [f"{self.bin_dir}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"]
            ),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def processes(self) -> list[int]:
        """The postmaster and every backend it started."""
        with open(os.path.join(self.data, "postmaster.pid")) as handle:
            postmaster = int(handle.readline())
        found = [postmaster]
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                with open(stat) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == postmaster:  # its parent
                found.append(int(stat.split("/")[2]))
        return found

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """The server hung: every process SIGSTOPped (connections stay open, nothing answers)
        until the block ends."""
        stopped = []
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:  # a backend whose connection just closed
                continue
            stopped.append(pid)
        try:
            yield
        finally:
            for pid in stopped:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres_server(bin_dir: str) -> Iterator[str]:
    """Start a cluster; yield its server URL (database ``postgres``)."""
    cluster = PostgresCluster(bin_dir)
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.remove()
