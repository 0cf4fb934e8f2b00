"""The dependency direction of ../shared/DESIGN.md, read from every import in the package (lazy
ones inside functions too): a module imports only what is at its level or below."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import evaltrace

PACKAGE = Path(evaltrace.__file__).parent

# Lowest first. A top-level module or subpackage not listed is the facade's level (the top).
LEVELS: list[set[str]] = [
    {"exceptions", "_version"},
    {"_json", "_gil", "_validation", "_uris", "_internal_errors", "_suppress", "_config"}
    | {"entities"},
    {"search"},
    {"tracer", "store"},
    {"integrations"},
    {"_session"},
    {"annotate", "datasets"},
    {"evaluate"},
    {"labeling", "monitoring", "otlp"},
]
# Pairs at one level that must not import each other: the session plugs the store into the
# tracer as its exporter.
APART = {("tracer", "store"), ("store", "tracer"), ("integrations", "store")}
# Upward imports made on purpose, lazily, where the reference's API puts a method low down:
# Scorer.register()/start() (evaluate) drive monitoring; the session starts the OTLP exporter;
# a registered scorer's source runs in a namespace of the public scorer names.
ALLOWED_UPWARD = {
    ("evaluate.scorers", "monitoring"),
    ("_session", "otlp"),
    ("monitoring.definitions", "scorers"),
}


def _level(part: str) -> int:
    for level, parts in enumerate(LEVELS):
        if part in parts:
            return level
    return len(LEVELS)  # the facade and its siblings: client, cli, server, testing, ...


def _is_submodule(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()


def _imported(path: Path) -> Iterator[str]:
    """The first part after ``evaltrace.`` of each import; ``<facade>`` for a name taken from
    the package itself (``import evaltrace``, ``from evaltrace import trace``)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "evaltrace":
                    yield "<facade>"
                elif alias.name.startswith("evaltrace."):
                    yield alias.name.split(".")[1]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "evaltrace":
                for alias in node.names:
                    yield alias.name if _is_submodule(alias.name) else "<facade>"
            elif node.module.startswith("evaltrace."):
                yield node.module.split(".")[1]


def _violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts == ("__init__",):
            continue  # the facade itself
        own = parts[0]
        module = ".".join(p for p in parts if p != "__init__")
        for target in set(_imported(path)):
            if target == own:
                continue
            if target == "<facade>":
                found.append(f"{module} imports the facade")
            elif (own, target) in APART:
                found.append(f"{module} imports {target}")
            elif _level(target) > _level(own) and (module, target) not in ALLOWED_UPWARD:
                found.append(f"{module} imports {target}, which sits above it")
    return found


def test_every_import_goes_down_the_layers() -> None:
    assert _violations() == []


def test_entities_need_only_the_standard_library_and_the_exceptions() -> None:
    for path in sorted((PACKAGE / "entities").rglob("*.py")):
        assert set(_imported(path)) <= {"entities", "exceptions"}, path


def test_the_check_sees_a_violation(tmp_path: Path) -> None:
    """The reader of imports finds lazy ones and facade names (else the checks above pass
    vacuously)."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def later():\n    import evaltrace\n    from evaltrace.server import app\n"
        "from evaltrace import trace, store\n"
    )
    assert sorted(_imported(sample)) == ["<facade>", "<facade>", "server", "store"]


def test_the_version_is_the_one_pyproject_declares() -> None:
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    (declared,) = re.findall(r'^version = "([^"]+)"$', pyproject, flags=re.MULTILINE)
    assert evaltrace.__version__ == declared


def _third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_store_knows_sqlalchemy() -> None:
    """Upper layers reached past the facets: the monitor worker read store.engine.dialect,
    OTLP ingest checked isinstance(store, SqlStore) to reach store.db, the CLI ran SQL."""
    outside = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "store"
        and ({"sqlalchemy", "alembic"} & _third_party_imports(path))
    ]
    assert outside == []
    reaching_in = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] not in ("store", "testing")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"store(\(\))?\.(engine|db)\b|\bSqlStore\b", line) and "import" not in line
    ]
    assert reaching_in == [], reaching_in
