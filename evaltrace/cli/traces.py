"""``evaltrace traces``: search, show, delete, export and import traces."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from evaltrace import client
from evaltrace._json import dumps_json
from evaltrace._session import get_session
from evaltrace.cli._common import (
    emit,
    emit_object,
    format_option,
    parse_age,
    progress,
    resolve_experiment,
    store_command,
)
from evaltrace.entities import Trace
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.server.views import ms_time

__all__ = ["traces"]

_EXPORT_PAGE = 500
_IMPORT_BATCH = 200
_COLUMNS = ["trace_id", "time", "name", "state", "duration_ms", "tokens", "request", "response"]


@click.group()
def traces() -> None:
    """Search, show, delete, export and import traces."""


def _experiment_option(function: Any) -> Any:
    return click.option(
        "--experiment", "-e", metavar="NAME|ID", help="Experiment (default: the active one)."
    )(function)


def _row(trace: Trace, name: str | None) -> dict[str, Any]:
    info = trace.info
    return {
        "trace_id": info.trace_id,
        "time": ms_time(info.request_time),
        "request_time": info.request_time,
        "name": name,
        "state": info.state.value,
        "duration_ms": info.execution_duration,
        "tokens": (info.token_usage or {}).get("total_tokens"),
        "tags": info.tags,
        "assessments": {a.name: a.value for a in info.assessments if a.valid},
        "request": info.request_preview,
        "response": info.response_preview,
    }


@traces.command("search")
@_experiment_option
@click.option("--filter", "-f", "filter_string", help="Filter, e.g. \"tags.env = 'prod'\".")
@click.option("--order-by", multiple=True, help='e.g. "timestamp_ms ASC" (repeatable).')
@click.option("--max-results", "-n", type=click.IntRange(min=1), default=100, show_default=True)
@format_option()
@store_command
def search(
    experiment: str | None,
    filter_string: str | None,
    order_by: tuple[str, ...],
    max_results: int,
    fmt: str | None,
) -> None:
    """Traces matching a filter, newest first.

    \b
    Example:
      evaltrace traces search -e my-app -f "attributes.status = 'ERROR'" -n 20
    """
    found = client.search_traces(
        experiment_ids=[resolve_experiment(experiment)],
        filter_string=filter_string,
        order_by=list(order_by) or None,
        max_results=max_results,
        return_type="list",
        include_spans=False,
    )
    names = get_session().store().browse.trace_names([t.info.trace_id for t in found])
    emit([_row(t, names.get(t.info.trace_id)) for t in found], _COLUMNS, fmt, title="traces")


@traces.command("get")
@click.argument("trace_id")
@format_option("json")
@store_command
def get(trace_id: str, fmt: str | None) -> None:
    """One trace with its spans and assessments (JSON by default).

    \b
    Example:
      evaltrace traces get tr-0123456789abcdef0123456789abcdef
    """
    trace = client.get_trace(trace_id)
    if fmt == "table":
        spans = [
            {
                "span_id": s.span_id,
                "parent_id": s.parent_id,
                "name": s.name,
                "type": s.span_type,
                "status": s.status.status_code.value,
                "duration_ms": None if s.duration_ns is None else s.duration_ns / 1e6,
            }
            for s in trace.data.spans
        ]
        emit_object(trace.info.to_dict(), fmt)
        emit(spans, ["span_id", "parent_id", "name", "type", "status", "duration_ms"], fmt)
    else:
        emit_object(trace.to_dict(), "json")


@traces.command("delete")
@_experiment_option
@click.option("--trace-id", "trace_ids", multiple=True, help="A trace to delete (repeatable).")
@click.option("--filter", "-f", "filter_string", help="Delete every trace matching this filter.")
@click.option("--older-than", metavar="AGE", help="Delete traces older than this: 30d, 12h, 2w.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@store_command
def delete(
    experiment: str | None,
    trace_ids: tuple[str, ...],
    filter_string: str | None,
    older_than: str | None,
    yes: bool,
) -> None:
    """Delete traces with their spans and assessments.

    \b
    Examples:
      evaltrace traces delete --older-than 30d -e my-app --yes
      evaltrace traces delete --filter "tags.env = 'test'" --yes
    """
    chosen = [bool(trace_ids), filter_string is not None, older_than is not None]
    if sum(chosen) != 1:
        raise InvalidArgumentError("give exactly one of --trace-id, --filter, --older-than")
    experiment_id = resolve_experiment(experiment)
    ids: list[str] | None = list(trace_ids) or None
    cutoff = parse_age(older_than) if older_than is not None else None
    if filter_string is not None:
        found = client.search_traces(
            experiment_ids=[experiment_id],
            filter_string=filter_string,
            return_type="list",
            include_spans=False,
        )
        ids = [t.info.trace_id for t in found]
        if not ids:
            click.echo("deleted 0 traces", err=True)
            return
    what = f"{len(ids)} trace(s)" if ids is not None else f"traces older than {older_than}"
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidArgumentError(f"refusing to delete {what} without --yes (not a terminal)")
        click.confirm(f"Delete {what} from experiment {experiment_id}?", abort=True)
    deleted = 0
    if ids is None:
        deleted = client.delete_traces(experiment_id, max_timestamp_millis=cutoff)
    else:
        chunks = [ids[i : i + _EXPORT_PAGE] for i in range(0, len(ids), _EXPORT_PAGE)]
        for chunk in progress(chunks, len(chunks), "deleting"):
            deleted += client.delete_traces(experiment_id, trace_ids=chunk)
    click.echo(f"deleted {deleted} trace(s)", err=True)


@traces.command("export")
@_experiment_option
@click.option("--filter", "-f", "filter_string", help="Only traces matching this filter.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@store_command
def export(experiment: str | None, filter_string: str | None, output: Path) -> None:
    """Write traces (with spans and assessments) to a JSONL file, one trace per line, page by
    page: memory stays flat however many there are.

    \b
    Example:
      evaltrace traces export -e my-app -f "tags.env = 'prod'" -o traces.jsonl
    """
    experiment_id = resolve_experiment(experiment)
    written = 0
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as out:
            for page in progress(_pages(experiment_id, filter_string), None, "exporting"):
                for trace in page:
                    out.write(dumps_json(trace.to_dict()) + "\n")
                written += len(page)
        partial.replace(output)  # never a half-written file under the name asked for
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise InvalidArgumentError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"exported {written} trace(s) to {output}", err=True)


def _pages(experiment_id: str, filter_string: str | None) -> Any:
    token = None
    while True:
        page = client.search_traces(
            experiment_ids=[experiment_id],
            filter_string=filter_string,
            max_results=_EXPORT_PAGE,
            page_token=token,
            order_by=["timestamp_ms ASC"],
            return_type="list",
        )
        yield list(page)
        token = page.token
        if token is None:
            return


@traces.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_experiment_option
@store_command
def import_(path: Path, experiment: str | None) -> None:
    """Read traces from a JSONL file (as written by ``export``) into an experiment (made if
    new). Traces already stored (by id) are left as they are, in the experiment that holds
    them, and counted apart; a bad line stops the import before anything is written, naming
    the line.

    \b
    Example:
      evaltrace traces import traces.jsonl -e staging-copy
    """
    session = get_session()
    experiment_id = resolve_experiment(experiment, create=True)
    parsed = [
        replace(trace, info=replace(trace.info, experiment_id=experiment_id))
        for trace in _read_traces(path)
    ]
    store = session.store()
    already = store.stored_experiments([trace.info.trace_id for trace in parsed])
    new = [trace for trace in parsed if trace.info.trace_id not in already]
    batches = [new[i : i + _IMPORT_BATCH] for i in range(0, len(new), _IMPORT_BATCH)]
    for batch in progress(batches, len(batches), "importing"):
        store.write_traces(batch)
    message = f"imported {len(new)} trace(s) into experiment {experiment_id}"
    if already:
        where = ", ".join(sorted(set(already.values())))
        message += f"; {len(already)} already stored (in experiment {where}) were left as they are"
    click.echo(message, err=True)


def _read_traces(path: Path) -> list[Trace]:
    traces = []
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise InvalidArgumentError(f"{path}:{number}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                traces.append(Trace.from_json(line))
            except Exception as exc:
                message = " ".join(str(exc).split())[:200]
                raise InvalidArgumentError(f"{path}:{number}: not a trace: {message}") from None
    return traces
