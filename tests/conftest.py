"""Fixtures: every test gets a fresh Session, tracing into a store of its own (a SQLite file or
a PostgreSQL database)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# Our own bugs fail loudly in tests (see evaltrace/_internal_errors.py).
os.environ["EVALTRACE_RAISE_INTERNAL_ERRORS"] = "1"
# Settings come from each test; the variables that steer the test run itself stay.
_TEST_RUN_VARIABLES = ("EVALTRACE_TEST_", "EVALTRACE_REQUIRE_", "EVALTRACE_RAISE_INTERNAL_ERRORS")
for name in [n for n in os.environ if n.startswith("EVALTRACE_")]:
    if not name.startswith(_TEST_RUN_VARIABLES):
        del os.environ[name]

import evaltrace  # noqa: E402
from evaltrace._session import Session, current_session, install_session  # noqa: E402
from tests.postgres import PostgresCluster, find_pg_bin, postgres_server  # noqa: E402

_POSTGRES_REQUIRED = bool(os.environ.get("CI")) or bool(
    os.environ.get("EVALTRACE_REQUIRE_POSTGRES")
)
_database_numbers = itertools.count()


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL server of the test's own, to stop and start (outages), as the tracking
    URI."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if _POSTGRES_REQUIRED:
            pytest.fail("PostgreSQL is required here (CI) but initdb was not found")
        pytest.skip("PostgreSQL is not installed")
    server = PostgresCluster(bin_dir)
    server.start()
    try:
        evaltrace.set_tracking_uri(server.url)
        yield server
    finally:
        evaltrace.flush(timeout=10)
        server.remove()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    given = os.environ.get("EVALTRACE_TEST_POSTGRES_URI")
    if given:
        yield given
        return
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if _POSTGRES_REQUIRED:
            pytest.fail("PostgreSQL is required here (CI) but initdb was not found")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with postgres_server(bin_dir) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> str:
    """A database migrated once; each test clones it (CREATE DATABASE ... TEMPLATE)."""
    from sqlalchemy import create_engine, text

    from evaltrace.store.sql_store import SqlStore

    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS evaltrace_template"))
        connection.execute(text("CREATE DATABASE evaltrace_template"))
    template_url = postgres_server_url.rsplit("/", 1)[0] + "/evaltrace_template"
    SqlStore(template_url).close()
    admin.dispose()
    return template_url


@pytest.fixture
def postgres_uri(postgres_server_url: str, postgres_template: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    name = f"evaltrace_test_{os.getpid()}_{next(_database_numbers)}"
    admin = create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE evaltrace_template"))
    yield postgres_server_url.rsplit("/", 1)[0] + "/" + name
    live = current_session()  # still alive when the test asked for this fixture by itself
    if live is not None:
        live.flush(timeout=30)
        live.release_connections()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="module")
def module_postgres_uri(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL database shared by one test module (tests there seed it once)."""
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


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'evaltrace.db'}"


@pytest.fixture
def server_uri(tmp_path: Path) -> Iterator[str]:
    """``evaltrace server`` in a process of its own over a SQLite file of this test: the
    tracking URI is the server's ``http://`` address."""
    from tests.server.live import running_server

    with running_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server-spool") as url:
        yield url


# The stores a test asking for ``store_uri`` runs against: SQLite and PostgreSQL, and, in a
# module that says ``STORE_KINDS = ALL_STORE_KINDS``, a server over HTTP too (the public API
# must answer the same through it). A test marked ``database_only`` reads the database itself.
SQL_STORE_KINDS = ("sqlite", "postgresql")
ALL_STORE_KINDS = (*SQL_STORE_KINDS, "http")
_STORE_FIXTURES = {"sqlite": "sqlite_uri", "postgresql": "postgres_uri", "http": "server_uri"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_uri" not in metafunc.fixturenames:
        return
    kinds = getattr(metafunc.module, "STORE_KINDS", SQL_STORE_KINDS)
    if metafunc.definition.get_closest_marker("database_only") is not None:
        kinds = tuple(kind for kind in kinds if kind in SQL_STORE_KINDS)
    metafunc.parametrize("store_uri", kinds, indirect=True)


@pytest.fixture
def store_uri(request: pytest.FixtureRequest) -> str:
    """The test's store, one of the kinds ``pytest_generate_tests`` gave it."""
    return str(request.getfixturevalue(_STORE_FIXTURES[request.param]))


@pytest.fixture(autouse=True)
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Session]:
    """A fresh Session per test, tracing into this test's store, installed as the default one.

    At the end, no trace may have been dropped unless the test is marked ``allow_drops``.
    """
    uri = (
        request.getfixturevalue("store_uri")
        if "store_uri" in request.fixturenames
        else f"sqlite:///{tmp_path / 'default.db'}"
    )
    fresh = Session(tracking_uri=uri, spool_dir=str(tmp_path / "spool"))
    install_session(fresh)
    yield fresh
    current = install_session(None)  # a test may have installed one of its own
    dropped = 0
    for used in {id(s): s for s in (fresh, current) if s is not None}.values():
        dropped += used.export_stats().dropped
        used.close()
    if "allow_drops" not in request.keywords:
        assert dropped == 0, f"{dropped} trace(s) were dropped during the test"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_drops: the test drops traces on purpose")
    config.addinivalue_line(
        "markers", "database_only: the test reads the database itself (not run over HTTP)"
    )
    config.addinivalue_line("markers", "slow: a long soak, run with --run-slow (CI's own step)")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--run-slow")
    for item in items:
        if ("slow" in item.keywords) != run_slow:
            item.add_marker(pytest.mark.skip(reason="slow soak: run with --run-slow"))
