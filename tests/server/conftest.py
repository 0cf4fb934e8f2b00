"""One seeded store and one running server per test module (and per store kind)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.live import running_server, seed


@pytest.fixture(scope="module")
def module_postgres_uri(request: pytest.FixtureRequest) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    server_url = request.getfixturevalue("postgres_server_url")
    name = f"evaltrace_server_{os.getpid()}_{abs(hash(request.module.__name__)) % 10**8}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield server_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="module")
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any], Path]:
    """(store URI, the ids the seed made, a spool directory) for this module."""
    kind = getattr(request, "param", "sqlite")
    directory = tmp_path_factory.mktemp("seeded")
    uri = (
        request.getfixturevalue("module_postgres_uri")
        if kind == "postgresql"
        else f"sqlite:///{directory / 'seeded.db'}"
    )
    return uri, seed(uri, directory / "spool"), directory / "spool"


@pytest.fixture(scope="module")
def server(seeded: tuple[str, dict[str, Any], Path]) -> Iterator[str]:
    uri, _, spool_dir = seeded
    with running_server(uri, spool_dir) as base:
        yield base


@pytest.fixture(scope="module")
def ids(seeded: tuple[str, dict[str, Any], Path]) -> dict[str, Any]:
    return seeded[1]
