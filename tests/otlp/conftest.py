"""A running `evaltrace server` per test module and store kind, for the OTLP tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.live import running_server


@pytest.fixture(scope="module")
def otlp_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    kind = getattr(request, "param", "sqlite")
    if kind == "postgresql":
        return str(request.getfixturevalue("module_postgres_uri"))
    return f"sqlite:///{tmp_path_factory.mktemp('otlp') / 'otlp.db'}"


@pytest.fixture(scope="module")
def otlp_server(otlp_store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(otlp_store, tmp_path_factory.mktemp("spool")) as base:
        yield base
