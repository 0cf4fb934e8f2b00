"""One seeded store and one running server per test module (and per store kind)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.live import running_server, seed


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
