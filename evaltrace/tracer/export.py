"""The seam between the tracer and where traces go: the ``TraceExporter`` protocol.

The tracer knows no store. When a trace is finished it becomes a :class:`FinishedTrace` (the
``Trace`` entity plus its :class:`Destination`, fixed when the trace started) and the writer
hands batches of them to an exporter. The session's exporter writes them to the SQL store; the
spool keeps them on disk while it cannot; :class:`InMemoryTraceExporter` keeps them in a list
for tests. An exporter raises ``StoreUnavailableError`` for "cannot take them now, try again"
(the batch is spooled); any other exception means the batch itself was refused.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from evaltrace.entities import Trace

__all__ = [
    "Destination",
    "ExperimentRef",
    "ExportStats",
    "FinishedTrace",
    "InMemoryTraceExporter",
    "TraceExporter",
]


@dataclass(frozen=True, slots=True)
class ExperimentRef:
    """The experiment a trace belongs to: a name (created on first write if missing) and/or an
    id; ``id_uri`` is the tracking URI in which the id was looked up (None: valid in any)."""

    experiment_id: str | None = None
    name: str | None = None
    id_uri: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"experiment_id": self.experiment_id, "name": self.name, "id_uri": self.id_uri}

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> ExperimentRef:
        return cls(data.get("experiment_id"), data.get("name"), data.get("id_uri"))


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a trace goes, chosen by the session when the trace starts: plain data, so that it
    can wait in the spool with the trace. The tracer passes it through without reading it."""

    tracking_uri: str
    experiment: ExperimentRef
    # The experiment's id in that store when the session knew it as the trace started (it
    # then goes into the converted trace directly); not kept in the spool, resolved again.
    experiment_id: str | None = None


@dataclass(frozen=True, slots=True)
class FinishedTrace:
    """A finished trace on its way out. ``trace.info.experiment_id`` is empty: the exporter
    resolves ``destination.experiment`` in the destination's store. ``appended``: spans that
    ended after the trace was exported, to add to it (only ``trace.data.spans`` counts)."""

    destination: Destination
    trace: Trace
    appended: bool = False


@dataclass(frozen=True, slots=True)
class ExportStats:
    """What this process's writer did with finished traces so far (``evaltrace.export_status()``):
    stored, spooled (waiting on disk for the store), dropped (counted and warned about), still
    queued in memory, and the last problem it met (None: none yet)."""

    written: int = 0
    spilled: int = 0
    dropped: int = 0
    queued: int = 0
    last_error: str | None = None


@runtime_checkable
class TraceExporter(Protocol):
    def export(self, batch: Sequence[FinishedTrace]) -> None:
        """Take these traces, all or nothing. Raise ``StoreUnavailableError`` when it cannot
        now but may later (the writer spools the batch and replays it)."""

    def force_flush(self, timeout: float | None = None) -> bool:
        """Finish anything the exporter buffers itself; False if ``timeout`` ran out."""

    def shutdown(self) -> None:
        """Release what the exporter holds; nothing is exported afterwards."""


class InMemoryTraceExporter:
    """Keeps every exported trace in memory, in order: for tests (see the ``trace_exporter``
    fixture in ``evaltrace.testing.pytest_plugin``) and for applications that look at their
    own traces."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._finished: list[FinishedTrace] = []
        self.shut_down = False

    def export(self, batch: Sequence[FinishedTrace]) -> None:
        with self._lock:
            self._finished.extend(batch)

    def force_flush(self, timeout: float | None = None) -> bool:
        return True

    def shutdown(self) -> None:
        self.shut_down = True

    @property
    def finished(self) -> list[FinishedTrace]:
        with self._lock:
            return list(self._finished)

    @property
    def traces(self) -> list[Trace]:
        return [item.trace for item in self.finished]

    def clear(self) -> None:
        with self._lock:
            self._finished.clear()
