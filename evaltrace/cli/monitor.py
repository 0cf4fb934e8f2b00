"""``evaltrace monitor``: the worker that runs registered scorers on live traces, and its
status, start/stop and backfill commands."""

from __future__ import annotations

import datetime
import signal
import threading
from typing import Any

import click

from evaltrace._session import Session, get_session, install_session
from evaltrace._uris import without_password
from evaltrace.cli._common import emit, format_option, parse_age, resolve_experiment, store_command
from evaltrace.entities.monitoring import JobOutcome, ScorerSamplingConfig

__all__ = ["monitor"]

_COUNT_COLUMNS = [outcome.value for outcome in JobOutcome]


@click.group(invoke_without_command=True)
@click.option("--tracking-uri", metavar="URI", help="Store URL (default: $EVALTRACE_TRACKING_URI).")
@click.option(
    "--experiment",
    "-e",
    "experiments",
    multiple=True,
    help="Only this experiment (name or id; repeatable). Default: every experiment with "
    "registered scorers.",
)
@click.option("--concurrency", "-c", default=4, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--poll-seconds", default=1.0, show_default=True, type=click.FloatRange(min=0.01))
@click.option(
    "--claim-seconds",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="How long a claimed batch is this worker's before another worker may retake it.",
)
@click.option("--once", is_flag=True, help="Judge everything pending now, then exit (cron, CI).")
@click.pass_context
def monitor(
    ctx: click.Context,
    tracking_uri: str | None,
    experiments: tuple[str, ...],
    concurrency: int,
    batch_size: int,
    poll_seconds: float,
    claim_seconds: float,
    once: bool,
) -> None:
    """Run registered scorers on new traces until stopped (Ctrl-C / SIGTERM).

    Several workers may share a PostgreSQL store; on SQLite one runs at a time.

    \b
    Examples:
      evaltrace monitor --tracking-uri postgresql+psycopg://db/evaltrace -c 8
      evaltrace monitor --once            # from cron
      evaltrace monitor status
    """
    if ctx.invoked_subcommand is not None:
        return
    from evaltrace.monitoring import MonitorWorker

    session = Session(tracking_uri=tracking_uri) if tracking_uri else Session()
    previous = install_session(session)
    stop = threading.Event()
    try:
        ids = [resolve_experiment(ref) for ref in experiments]
        worker = MonitorWorker(
            get_session().store(),
            experiment_ids=ids or None,
            concurrency=concurrency,
            batch_size=batch_size,
            claim_seconds=claim_seconds,
            scorer_timeout=session.settings.scorer_timeout,
        )
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        if not once:
            shown = without_password(session.tracking_uri)
            click.echo(f"evaltrace monitor: {worker.holder} on {shown}", err=True)
        worker.run(stop, poll_seconds=poll_seconds, once=once)
        totals = worker.totals
        click.echo(
            f"evaltrace monitor: read {totals.changes_read} new trace(s), judged "
            f"{totals.judged}, {totals.errors} error(s), {totals.retried} retried later",
            err=True,
        )
    finally:
        install_session(previous)
        session.close()


@monitor.command("status")
@click.option("--experiment", "-e", help="Experiment name or id (default: the active one).")
@format_option()
@store_command
def status(experiment: str | None, fmt: str | None) -> None:
    """Each registered scorer: state, sampling, outcome counts, lag (oldest trace not judged
    yet), and its last error (message and when), if any.

    \b
    Example:
      evaltrace monitor status -e support-bot --format json
    """
    from evaltrace.monitoring import monitor_status

    rows = []
    for report in monitor_status(resolve_experiment(experiment)):
        row: dict[str, Any] = report.to_dict()
        row.update({column: report.counts.get(column, 0) for column in _COUNT_COLUMNS})
        row["lag_seconds"] = round(report.lag_seconds, 3)
        row["last_error_at"] = _when(report.last_error_time_ms)
        rows.append(row)
    columns = [
        "name",
        "version",
        "state",
        "sample_rate",
        *_COUNT_COLUMNS,
        "lag_seconds",
        "last_error",
        "last_error_at",
    ]
    emit(rows, columns, fmt, title="monitors")


@monitor.command("start")
@click.argument("name")
@click.option("--experiment", "-e", help="Experiment name or id (default: the active one).")
@click.option("--sample-rate", type=click.FloatRange(0.0, 1.0), help="Share of traces to judge.")
@click.option("--filter", "filter_string", help="Only traces matching this filter.")
@click.option("--max-per-hour", type=click.IntRange(min=1), help="Judgments per hour at most.")
@store_command
def start(
    name: str,
    experiment: str | None,
    sample_rate: float | None,
    filter_string: str | None,
    max_per_hour: int | None,
) -> None:
    """Start (or re-configure) a registered scorer."""
    from evaltrace.monitoring import get_scorer

    found = get_scorer(name=name, experiment_id=resolve_experiment(experiment))
    config = ScorerSamplingConfig(sample_rate, filter_string, max_per_hour)
    started = (
        found.start(sampling_config=config)
        if found.status != "active"
        else found.update(sampling_config=config)
    )
    click.echo(f"{name}: active, sample rate {started.sample_rate:g}", err=True)


@monitor.command("stop")
@click.argument("name")
@click.option("--experiment", "-e", help="Experiment name or id (default: the active one).")
@store_command
def stop(name: str, experiment: str | None) -> None:
    """Stop a registered scorer (its results stay)."""
    from evaltrace.monitoring import get_scorer

    get_scorer(name=name, experiment_id=resolve_experiment(experiment)).stop()
    click.echo(f"{name}: stopped", err=True)


@monitor.command("backfill")
@click.argument("names", nargs=-1, required=True)
@click.option("--experiment", "-e", help="Experiment name or id (default: the active one).")
@click.option("--since", help="Traces newer than this age (30d, 12h, ...). Default: all.")
@click.option("--until", help="Traces older than this age. Default: now.")
@click.option("--filter", "filter_string", help="Only traces matching this filter.")
@store_command
def backfill(
    names: tuple[str, ...],
    experiment: str | None,
    since: str | None,
    until: str | None,
    filter_string: str | None,
) -> None:
    """Queue past traces for registered scorers; a running worker (or ``monitor --once``)
    judges them.

    \b
    Example:
      evaltrace monitor backfill safety --since 7d
    """
    from evaltrace.monitoring import backfill_scorers

    count = backfill_scorers(
        scorers=list(names),
        experiment_id=resolve_experiment(experiment),
        start_time=parse_age(since, "--since") if since else None,
        end_time=parse_age(until, "--until") if until else None,
        filter_string=filter_string,
    )
    click.echo(f"queued {count} trace(s) for {', '.join(names)}", err=True)


def _when(epoch_ms: int | None) -> str | None:
    if epoch_ms is None:
        return None
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="seconds")
