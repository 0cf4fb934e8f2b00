"""What every command shares: the store option, output as tables or JSON, typed errors as one
line on stderr with a non-zero exit code."""

from __future__ import annotations

import functools
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NoReturn, TypeVar

import click

from evaltrace._json import dumps_json
from evaltrace._session import Session, get_session, install_session
from evaltrace.exceptions import EvaltraceError, ExperimentNotFoundError, InvalidArgumentError

__all__ = [
    "FORMATS",
    "EvaltraceGroup",
    "emit",
    "format_option",
    "parse_age",
    "resolve_experiment",
    "store_command",
]

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = click.Choice(["table", "json", "jsonl"])


class EvaltraceGroup(click.Group):
    """A group whose commands report evaltrace's typed errors as ``error: ...`` (exit 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EvaltraceError as exc:
            _fail(str(exc))
        except OSError as exc:  # a file or socket the command could not use
            where = f"{exc.filename}: " if exc.filename else ""
            _fail(f"{where}{exc.strerror or exc}")
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise  # click's own: usage errors and --help print as click prints them
        except Exception as exc:
            if os.environ.get("EVALTRACE_RAISE_INTERNAL_ERRORS") == "1":
                raise
            # Never a traceback: one line that says it is ours (set the variable to see it).
            _fail(f"internal error ({type(exc).__name__}): {exc}")


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {' '.join(message.split())}", err=True)  # one line
    sys.exit(1)


def store_command(function: F) -> F:
    """Adds ``--tracking-uri`` (default: ``EVALTRACE_TRACKING_URI``, then the settings'
    default) and runs the command on a Session of that store, closed afterwards."""

    @click.option(
        "--tracking-uri",
        metavar="URI",
        help="Store URL (default: $EVALTRACE_TRACKING_URI, else sqlite:///evaltrace.db).",
    )
    @functools.wraps(function)
    def wrapper(*args: Any, tracking_uri: str | None = None, **kwargs: Any) -> Any:
        session = Session(tracking_uri=tracking_uri) if tracking_uri else Session()
        previous = install_session(session)
        try:
            return function(*args, **kwargs)
        finally:
            install_session(previous)
            session.close()

    return wrapper  # type: ignore[return-value]


def format_option(default: str | None = None) -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=FORMATS,
        default=default,
        help="Output format (default: a table on a terminal, JSON when piped).",
    )


def _chosen(fmt: str | None) -> str:
    return fmt or ("table" if sys.stdout.isatty() else "json")


def emit(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str | None,
    *,
    title: str | None = None,
) -> None:
    """Rows as a rich table (terminal), a JSON array, or one JSON object per line."""
    chosen = _chosen(fmt)
    if chosen == "json":
        click.echo(dumps_json(list(rows), default=str))
    elif chosen == "jsonl":
        for row in rows:
            click.echo(dumps_json(row, default=str))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(row.get(column)) for column in columns))
        Console().print(table)


def emit_object(value: Any, fmt: str | None) -> None:
    if _chosen(fmt) == "table":
        from rich.console import Console
        from rich.pretty import Pretty

        Console().print(Pretty(value))
    else:
        click.echo(dumps_json(value, default=str))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else dumps_json(value, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def resolve_experiment(ref: str | None, *, create: bool = False) -> str:
    """An experiment id from a name or an id (default: the session's active experiment);
    ``create``: a name not found is made, as ``set_experiment`` makes it."""
    session = get_session()
    if ref is None:
        return session.experiment_id()
    store = session.store()
    if ref.isdigit():
        try:
            return store.get_experiment(ref).experiment_id
        except ExperimentNotFoundError:
            pass
    found = store.get_experiment_by_name(ref)
    if found is None and create and not ref.isdigit():
        found = store.get_or_create_experiment(ref)
    if found is None:
        raise ExperimentNotFoundError(f"no experiment named or numbered {ref!r}")
    return str(found.experiment_id)


_AGE = re.compile(r"^(\d+)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_age(text: str, option: str = "--older-than") -> int:
    """``30d`` -> the epoch milliseconds of 30 days ago."""
    match = _AGE.match(text.strip())
    if match is None:
        raise InvalidArgumentError(
            f"{option} must look like 30d, 12h, 90m, 2w or 45s; got {text!r}"
        )
    seconds = int(match.group(1)) * _SECONDS[match.group(2)]
    return int((time.time() - seconds) * 1000)


def progress(items: Iterable[Any], total: int | None, label: str) -> Iterable[Any]:
    """``items`` with a progress bar on a terminal's stderr (nothing when piped)."""
    if not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task)
