"""``evaltrace datasets``: list, show, export and import evaluation datasets."""

from __future__ import annotations

from pathlib import Path

import click

from evaltrace import datasets as datasets_api
from evaltrace.cli._common import emit, format_option, store_command
from evaltrace.exceptions import DatasetNotFoundError

__all__ = ["datasets"]


@click.group()
def datasets() -> None:
    """List, show, export and import evaluation datasets."""


@datasets.command("list")
@format_option()
@store_command
def list_(fmt: str | None) -> None:
    """Every dataset with its version and record count.

    \b
    Example:
      evaltrace datasets list --format json
    """
    rows = [
        {
            "name": d.name,
            "dataset_id": d.dataset_id,
            "version": d.version,
            "records": len(d),
            "tags": d.tags,
            "last_update_time": d.last_update_time,
        }
        for d in datasets_api.search_datasets()
    ]
    emit(rows, ["name", "version", "records", "tags", "last_update_time"], fmt, title="datasets")


@datasets.command("show")
@click.argument("name")
@click.option("--version", "-v", type=click.IntRange(min=0), help="A past version.")
@format_option()
@store_command
def show(name: str, version: int | None, fmt: str | None) -> None:
    """A dataset's records (at its latest version, or --version N).

    \b
    Example:
      evaltrace datasets show qa-golden --version 2
    """
    dataset = datasets_api.get_dataset(name, version=version)
    rows = [
        {
            "record_id": r.record_id,
            "inputs": r.inputs,
            "expectations": r.expectations,
            "source_type": r.source.source_type.value,
            "source_id": r.source.source_id,
        }
        for r in dataset.records
    ]
    columns = ["record_id", "inputs", "expectations", "source_type", "source_id"]
    emit(rows, columns, fmt, title=f"{name} v{dataset.version}")


@datasets.command("export")
@click.argument("name")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--version", "-v", type=click.IntRange(min=0), help="A past version.")
@store_command
def export(name: str, output: Path, version: int | None) -> None:
    """Write a dataset's records to .jsonl or .csv (by the file's extension).

    \b
    Example:
      evaltrace datasets export qa-golden -o golden.jsonl
    """
    dataset = datasets_api.get_dataset(name, version=version)
    dataset.export(output)
    click.echo(
        f"exported {len(dataset)} record(s) of {name} v{dataset.version} to {output}", err=True
    )


@datasets.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True, help="Dataset to merge into (created if new).")
@store_command
def import_(path: Path, name: str) -> None:
    """Merge records from a .jsonl, .json or .csv file into a dataset (one new version; a bad
    record writes nothing and names its line).

    \b
    Example:
      evaltrace datasets import golden.jsonl --name qa-golden
    """
    try:
        dataset = datasets_api.get_dataset(name)
    except DatasetNotFoundError:
        dataset = datasets_api.create_dataset(name)
    dataset.merge_records(path)
    click.echo(f"{name} is now version {dataset.version} with {len(dataset)} record(s)", err=True)
