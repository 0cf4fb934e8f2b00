"""``evaltrace db``: the store's schema and size."""

from __future__ import annotations

import click

from evaltrace._session import get_session
from evaltrace._uris import without_password
from evaltrace.cli._common import emit_object, format_option, store_command

__all__ = ["db"]


@click.group()
def db() -> None:
    """Migrate the store and show what it holds."""


def _revision() -> str | None:
    return get_session().store().browse.schema_revision()


@db.command("upgrade")
@store_command
def upgrade() -> None:
    """Bring the store's schema to this version of evaltrace (safe with others running).

    \b
    Example:
      evaltrace db upgrade --tracking-uri postgresql+psycopg://user@db/evaltrace
    """
    get_session().store()  # opening a store migrates it
    click.echo(f"schema at revision {_revision()}", err=True)


@db.command("current")
@store_command
def current() -> None:
    """The schema revision the store is at.

    \b
    Example:
      evaltrace db current
    """
    click.echo(_revision())


@db.command("info")
@format_option()
@store_command
def info(fmt: str | None) -> None:
    """Row counts per table and the database's size.

    \b
    Example:
      evaltrace db info --format json
    """
    session = get_session()
    store = session.store()
    emit_object(
        {
            "tracking_uri": without_password(session.tracking_uri),
            "revision": store.browse.schema_revision(),
            "size_bytes": store.browse.size_bytes(),
            "rows": store.browse.row_counts(),
        },
        fmt,
    )
