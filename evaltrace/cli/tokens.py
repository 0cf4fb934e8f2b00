"""``evaltrace tokens``: scoped tokens for ``evaltrace server`` (EVALTRACE_SERVER_TOKENS_FILE)."""

from __future__ import annotations

from pathlib import Path

import click

from evaltrace.exceptions import InvalidArgumentError
from evaltrace.server.tokens import new_token, token_line
from evaltrace.store.http_api import SCOPES

__all__ = ["tokens"]


@click.group()
def tokens() -> None:
    """Make tokens with scopes for a server's tokens file."""


@tokens.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(SCOPES),
    help="What the token may do (repeatable): ingest, read, annotate or admin.",
)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The tokens file to add it to (EVALTRACE_SERVER_TOKENS_FILE); made if missing.",
)
def create(name: str, scopes: tuple[str, ...], path: Path) -> None:
    """Make a token, add its hash to the tokens file, print the token (shown only now).

    \b
    Examples:
      evaltrace tokens create checkout-service --scope ingest --file tokens.txt
      evaltrace tokens create ci --scope read --scope annotate --file tokens.txt
    """
    token = new_token()
    line = token_line(name, list(scopes), token)
    known = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    if any(existing.split(maxsplit=1)[:1] == [name] for existing in known):
        raise InvalidArgumentError(f"{path} already has a token named {name!r}")
    with path.open("a", encoding="utf-8") as file:
        file.write(line + "\n")
    path.chmod(0o600)
    click.echo(f"added {name} ({', '.join(sorted(set(scopes)))}) to {path}", err=True)
    click.echo(token)
