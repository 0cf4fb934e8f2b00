"""Group commit: requests that want to write at the same moment share one transaction.

Each caller hands in its parts and returns once they are committed (accepted means durable).
Callers take turns at the writer lock; the one holding it takes every waiting caller's parts
and writes them in one transaction, so the callers queued behind find theirs already written.
Under concurrent load that is fewer commits, and each hot index page written once per group
instead of once per request; a caller alone writes its own parts at once. If a group's write
fails, its callers' parts are written again one caller at a time, so a bad request fails alone.
A big request converted in shares writes alone (``alone``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["GroupCommit"]


@dataclass(eq=False)
class _Ticket:
    parts: Sequence[Any]
    done: bool = False
    error: BaseException | None = None


class GroupCommit:
    def __init__(self, write: Callable[[Sequence[Any]], None]) -> None:
        self._write = write
        self._writer = threading.Lock()
        self._waiting: list[_Ticket] = []
        self._waiting_lock = threading.Lock()

    def write(self, parts: Sequence[Any]) -> None:
        """Return once ``parts`` are committed; raise what their write raised."""
        ticket = _Ticket(parts)
        with self._waiting_lock:
            self._waiting.append(ticket)
        with self._writer:
            if not ticket.done:  # not written by the caller before us: we write the group
                self._write_group()
        if ticket.error is not None:
            raise ticket.error

    def alone(self, write: Callable[[], None]) -> None:
        """Run a write of its own (a big request written share by share) when the writer is
        free; the group already waiting is written first."""
        with self._writer:
            self._write_group()
            write()

    def _write_group(self) -> None:
        with self._waiting_lock:
            group, self._waiting = self._waiting, []
        if len(group) > 1:
            try:
                self._write([part for ticket in group for part in ticket.parts])
            except Exception:
                pass
            else:
                for ticket in group:
                    ticket.done = True
                return
        for ticket in group:
            try:
                self._write(ticket.parts)
            except Exception as exc:
                ticket.error = exc
            ticket.done = True
