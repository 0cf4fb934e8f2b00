"""``evaltrace db``: the store's schema and size."""

from __future__ import annotations

import os
from typing import Any

import click
from sqlalchemy import text
from sqlalchemy.engine import make_url

from evaltrace._session import get_session
from evaltrace.cli._common import emit_object, format_option, store_command

__all__ = ["db"]


@click.group()
def db() -> None:
    """Migrate the store and show what it holds."""


def _revision() -> str | None:
    store: Any = get_session().store()
    with store.engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


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
    store: Any = session.store()
    url = make_url(session.tracking_uri)
    size = None
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        size = sum(
            os.path.getsize(path)
            for path in (url.database, url.database + "-wal")
            if os.path.exists(path)
        )
    elif url.get_backend_name() == "postgresql":
        with store.engine.connect() as connection:
            size = connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
    emit_object(
        {
            "tracking_uri": url.render_as_string(hide_password=True),
            "revision": _revision(),
            "size_bytes": size,
            "rows": store.browse.row_counts(),
        },
        fmt,
    )
