"""WAL checkpoints of a SQLite store on a thread of their own.

By default a SQLite writer whose commit takes the write-ahead log past 1,000 pages copies the
log into the database file then and there (and syncs it), inside that commit. The server,
whose commits are what every OTLP client waits for, moves that work here: a thread
checkpoints in PASSIVE mode (never waiting for, or blocking, a reader or a writer) a few
times a second, and writers keep a far larger automatic threshold only as a backstop (so the
log stays bounded even if this thread falls behind or stops).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import urllib.parse

__all__ = ["BACKSTOP_PAGES", "WalCheckpointer"]

BACKSTOP_PAGES = 16_384  # writers' own automatic checkpoint with a checkpointer running
_INTERVAL_S = 0.25
_log = logging.getLogger("evaltrace")


class WalCheckpointer:
    """Checkpoints the database file at ``path`` every quarter second until ``stop``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.checkpoints = 0  # completed calls (tests and benchmarks read it)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="evaltrace-wal-checkpoint", daemon=True
        )
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def checkpoint(self) -> None:
        """One PASSIVE checkpoint, on a connection of its own (opened each time: the file may
        have been replaced, and ``mode=rw`` never creates one where it was deleted)."""
        uri = f"file:{urllib.parse.quote(self.path)}?mode=rw"
        connection = sqlite3.connect(uri, uri=True, timeout=1, isolation_level=None)
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            connection.close()
        self.checkpoints += 1

    def _run(self) -> None:
        failed = False
        while not self._stop.wait(_INTERVAL_S):
            try:
                self.checkpoint()
                failed = False
            except sqlite3.Error as exc:  # writers' backstop checkpoints still bound the log
                if not failed:
                    _log.warning("evaltrace: WAL checkpoint of %s failed: %s", self.path, exc)
                failed = True
