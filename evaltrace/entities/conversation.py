"""A conversation: the traces that share a session id (``mlflow.trace.session`` metadata), in
order. The reference calls it ``mlflow.entities.Session``, and so does ``evaltrace.entities``;
``evaltrace.Session`` is something else (the library's runtime session)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from evaltrace.entities.trace import Trace

__all__ = ["Conversation"]


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    traces: tuple[Trace, ...]

    @classmethod
    def of(cls, session_id: str, traces: Sequence[Trace]) -> Conversation:
        return cls(session_id, tuple(traces))

    def __iter__(self) -> Iterator[Trace]:
        return iter(self.traces)

    def __len__(self) -> int:
        return len(self.traces)

    def __getitem__(self, index: int) -> Trace:
        return self.traces[index]

    def __repr__(self) -> str:
        return f"Session(id={self.id!r}, traces={len(self.traces)})"
