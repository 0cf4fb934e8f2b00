"""``evaltrace spool``: traces waiting on disk for an unreachable store."""

from __future__ import annotations

from pathlib import Path

import click

from evaltrace._session import get_session
from evaltrace.cli._common import emit, format_option, store_command
from evaltrace.tracer import recover as recover_spool
from evaltrace.tracer.spool import default_spool_dir, spool_files

__all__ = ["spool"]


@click.group()
def spool() -> None:
    """See and replay spooled traces."""


def _directory() -> Path:
    configured = get_session().settings.spool_dir
    return Path(configured) if configured else default_spool_dir()


@spool.command("status")
@format_option()
@store_command
def status(fmt: str | None) -> None:
    """Spool files: their writer process, whether a live process holds them, size, trace
    count and the stores their traces go to (a file no one holds whose store fails stays
    here, and is retried at every replay).

    \b
    Example:
      evaltrace spool status
    """
    rows = [file.to_dict() for file in spool_files(_directory())]
    emit(rows, ["file", "pid", "owned", "bytes", "traces", "stores"], fmt, title=str(_directory()))


@spool.command("recover")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait.")
@store_command
def recover(timeout: float) -> None:
    """Replay the spooled traces of processes that are gone into their stores now.

    \b
    Example:
      evaltrace spool recover --timeout 120
    """
    done = recover_spool(timeout=timeout)
    left = sum(file.traces for file in spool_files(_directory()))
    click.echo(f"{'replayed' if done else 'not all replayed'}; {left} trace(s) left", err=True)
    if not done:
        raise SystemExit(1)
