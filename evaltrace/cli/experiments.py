"""``evaltrace experiments``: list, create, rename, delete and restore experiments."""

from __future__ import annotations

import click

from evaltrace.cli._common import emit, format_option, store_command
from evaltrace.experiments import (
    ViewType,
    create_experiment,
    delete_experiment,
    rename_experiment,
    restore_experiment,
    search_experiments,
)

__all__ = ["experiments"]

_VIEWS = {"active": ViewType.ACTIVE_ONLY, "deleted": ViewType.DELETED_ONLY, "all": ViewType.ALL}


@click.group()
def experiments() -> None:
    """List, create, rename, delete and restore experiments."""


@experiments.command("list")
@click.option("--filter", "-f", "filter_string", help="e.g. \"name LIKE 'support%'\"")
@click.option("--view", type=click.Choice(sorted(_VIEWS)), default="active", show_default=True)
@format_option()
@store_command
def list_(filter_string: str | None, view: str, fmt: str | None) -> None:
    """Experiments, by id.

    \b
    Example:
      evaltrace experiments list -f "tags.team = 'support'"
    """
    rows = [
        {
            "experiment_id": e.experiment_id,
            "name": e.name,
            "lifecycle_stage": e.lifecycle_stage,
            "tags": e.tags,
            "creation_time": e.creation_time,
        }
        for e in search_experiments(view_type=_VIEWS[view], filter_string=filter_string)
    ]
    emit(rows, ["experiment_id", "name", "lifecycle_stage", "tags"], fmt, title="experiments")


@experiments.command("create")
@click.argument("name")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A tag (repeatable).")
@store_command
def create(name: str, tags: tuple[str, ...]) -> None:
    """Make an experiment; prints its id.

    \b
    Example:
      evaltrace experiments create support-bot --tag team=support
    """
    pairs = dict(tag.partition("=")[::2] for tag in tags)
    click.echo(create_experiment(name, tags=pairs))


@experiments.command("rename")
@click.argument("experiment_id")
@click.argument("new_name")
@store_command
def rename(experiment_id: str, new_name: str) -> None:
    """Rename an experiment (its traces, datasets and runs follow).

    \b
    Example:
      evaltrace experiments rename 3 support-bot-v2
    """
    rename_experiment(experiment_id, new_name)


@experiments.command("delete")
@click.argument("experiment_id")
@store_command
def delete(experiment_id: str) -> None:
    """Mark an experiment deleted: its traces stay; it is hidden until restored.

    \b
    Example:
      evaltrace experiments delete 3
    """
    delete_experiment(experiment_id)


@experiments.command("restore")
@click.argument("experiment_id")
@store_command
def restore(experiment_id: str) -> None:
    """Bring a deleted experiment back.

    \b
    Example:
      evaltrace experiments restore 3
    """
    restore_experiment(experiment_id)
