"""``evaltrace prompts``: the prompt registry from the shell."""

from __future__ import annotations

import json
from pathlib import Path

import click

from evaltrace.cli._common import emit, emit_object, format_option, store_command
from evaltrace.prompts import load_prompt, register_prompt, search_prompts, set_prompt_alias

__all__ = ["prompts"]


@click.group()
def prompts() -> None:
    """Register, list, show and alias prompt versions."""


@prompts.command("list")
@click.option("--filter", "-f", "filter_string", help="e.g. \"name LIKE 'support%'\"")
@format_option()
@store_command
def list_(filter_string: str | None, fmt: str | None) -> None:
    """Prompts, by name, with their latest version and aliases.

    \b
    Example:
      evaltrace prompts list -f "tags.team = 'support'"
    """
    rows = [p.to_dict() for p in search_prompts(filter_string=filter_string)]
    emit(rows, ["name", "latest_version", "aliases", "tags"], fmt, title="prompts")


@prompts.command("show")
@click.argument("uri")
@format_option()
@store_command
def show(uri: str, fmt: str | None) -> None:
    """One version: prompts:/NAME/VERSION, prompts:/NAME@ALIAS, or a name (the latest).

    \b
    Example:
      evaltrace prompts show prompts:/support@production
    """
    found = load_prompt(uri)
    assert found is not None  # allow_missing is off: a missing one raised
    emit_object(found.to_dict(), fmt)


@prompts.command("register")
@click.argument("name")
@click.option(
    "--template-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="A text template, or a JSON list of chat messages (a .json file).",
)
@click.option("--message", "-m", "commit_message", help="What changed.")
@store_command
def register(name: str, template_file: Path, commit_message: str | None) -> None:
    """Register a new version from a file; prints its URI.

    \b
    Example:
      evaltrace prompts register support --template-file support.txt -m "shorter answers"
    """
    text = template_file.read_text(encoding="utf-8")
    template = json.loads(text) if template_file.suffix == ".json" else text
    click.echo(register_prompt(name, template, commit_message=commit_message).uri)


@prompts.command("alias")
@click.argument("name")
@click.argument("alias")
@click.argument("version", type=int)
@store_command
def alias(name: str, alias: str, version: int) -> None:
    """Point an alias at a version.

    \b
    Example:
      evaltrace prompts alias support production 3
    """
    set_prompt_alias(name, alias, version)
