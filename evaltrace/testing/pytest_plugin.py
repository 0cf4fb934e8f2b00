"""pytest fixtures for applications traced with evaltrace (loaded by pytest automatically).

- ``evaltrace_session``: a fresh Session tracing into a SQLite file of the test's own.
- ``trace_exporter``: a fresh Session whose finished traces go to an ``InMemoryTraceExporter``
  instead of a store, written synchronously: assert on ``trace_exporter.traces`` right after
  the traced call.

Each installs its session as the default one for the test and puts the previous one back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evaltrace._session import Session, install_session
from evaltrace.tracer.export import InMemoryTraceExporter

__all__ = ["evaltrace_session", "trace_exporter"]


def _installed(session: Session) -> Iterator[Session]:
    previous = install_session(session)
    try:
        yield session
    finally:
        install_session(previous)
        session.close()


@pytest.fixture
def evaltrace_session(tmp_path: Path) -> Iterator[Session]:
    session = Session(
        tracking_uri=f"sqlite:///{tmp_path / 'evaltrace.db'}", spool_dir=str(tmp_path / "spool")
    )
    yield from _installed(session)


@pytest.fixture
def trace_exporter(tmp_path: Path) -> Iterator[InMemoryTraceExporter]:
    exporter = InMemoryTraceExporter()
    session = Session(exporter=exporter, async_logging=False, spool_dir=str(tmp_path / "spool"))
    for _ in _installed(session):
        yield exporter
