"""The ``evaltrace`` CLI run as subprocesses, on SQLite and on PostgreSQL, with exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import evaltrace
from tests.conftest import ALL_STORE_KINDS
from tests.server.live import ROOT, child_env, running_server, seed

STORE_KINDS = ALL_STORE_KINDS  # the CLI with --tracking-uri http://... too

# The newest migration's revision (the files are numbered).
HEAD = sorted(p.name[:4] for p in (ROOT / "evaltrace/store/migrations/versions").glob("0*.py"))[-1]

COMMANDS = [
    [],
    ["server"],
    ["ui"],
    ["traces", "search"],
    ["traces", "get"],
    ["traces", "delete"],
    ["traces", "export"],
    ["traces", "import"],
    ["datasets", "list"],
    ["datasets", "show"],
    ["datasets", "export"],
    ["datasets", "import"],
    ["runs", "list"],
    ["runs", "compare"],
    ["db", "upgrade"],
    ["db", "current"],
    ["db", "info"],
    ["spool", "status"],
    ["spool", "recover"],
    ["eval", "run"],
    ["prompts", "list"],
    ["prompts", "show"],
    ["prompts", "register"],
    ["prompts", "alias"],
    ["experiments", "list"],
    ["experiments", "create"],
    ["experiments", "rename"],
    ["experiments", "delete"],
    ["experiments", "restore"],
    ["tokens", "create"],
]


def cli(uri: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "evaltrace.cli", *args, *(["--tracking-uri", uri] if uri else [])],
        env=child_env(tmp_path / "spool", **(env or {})),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(done: Any) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip().startswith(("[", "{")) else done.stdout


def failed(done: Any) -> str:
    """The one-line error of a command that failed as it should."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return str(lines[0])


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "evaltrace")
def test_every_command_has_help_with_an_example(command: list[str], tmp_path: Path) -> None:
    done = cli("", tmp_path, *command, "--help")
    assert done.returncode == 0, done.stderr
    assert "Example" in done.stdout
    if command and command[0] not in ("server", "ui", "tokens"):  # no store there
        assert "--tracking-uri" in done.stdout or command in (["traces"], ["datasets"])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded_uri(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    directory = tmp_path_factory.mktemp("cli")
    if request.param == "postgresql":
        uri = request.getfixturevalue("module_postgres_uri")
    else:
        uri = f"sqlite:///{directory / 'seeded.db'}"
    return uri, seed(uri, directory / "spool")


def test_search_get_and_typed_errors(seeded_uri: Any, tmp_path: Path) -> None:
    uri, ids = seeded_uri
    rows = ok(cli(uri, tmp_path, "traces", "search", "-e", "shop-bot", "-f", "tags.env = 'dev'"))
    assert len(rows) == 12 and {r["name"] for r in rows} == {"answer"}
    by_id = ok(cli(uri, tmp_path, "traces", "search", "-e", ids["experiment_id"], "-n", "3"))
    assert len(by_id) == 3
    lines = cli(uri, tmp_path, "traces", "search", "-e", "shop-bot", "--format", "jsonl", "-n", "2")
    assert [json.loads(line)["state"] for line in lines.stdout.splitlines()] == ["OK", "OK"]

    trace = ok(cli(uri, tmp_path, "traces", "get", ids["chat"]))
    assert [s["name"] for s in trace["data"]["spans"]] == ["chat", "ChatCompletion"]

    error = failed(cli(uri, tmp_path, "traces", "search", "-e", "shop-bot", "-f", "tags.env = "))
    assert "at 11" in error
    assert "no experiment" in failed(cli(uri, tmp_path, "traces", "search", "-e", "nope"))
    assert "not found" in failed(cli(uri, tmp_path, "traces", "get", "tr-missing"))


def test_datasets_runs_and_db(seeded_uri: Any, tmp_path: Path) -> None:
    uri, ids = seeded_uri
    (listed,) = ok(cli(uri, tmp_path, "datasets", "list"))
    assert (listed["name"], listed["version"], listed["records"]) == ("golden", 2, 3)
    first = ok(cli(uri, tmp_path, "datasets", "show", "golden", "--version", "1"))
    assert sorted(r["inputs"]["question"] for r in first) == ["refund?", "shipping?"]
    assert "versions 0 to 2; got 7" in failed(
        cli(uri, tmp_path, "datasets", "show", "golden", "-v", "7")
    )

    out = tmp_path / "golden.jsonl"
    ok(cli(uri, tmp_path, "datasets", "export", "golden", "-o", str(out)))
    assert len(out.read_text().splitlines()) == 3

    runs = ok(cli(uri, tmp_path, "runs", "list", "--model-id", "bot"))
    assert [r["run_id"] for r in runs] == [ids["run_b"], ids["run_a"]]
    changes = ok(
        cli(uri, tmp_path, "runs", "compare", ids["run_a"], ids["run_b"], "--changes-only")
    )
    assert sorted(r["change"] for r in changes) == ["improvement", "regression"]
    assert "no evaluation run with id 'run-x'" in failed(
        cli(uri, tmp_path, "runs", "compare", "run-x", ids["run_b"])
    )

    assert ok(cli(uri, tmp_path, "db", "current")).strip() == HEAD
    info = ok(cli(uri, tmp_path, "db", "info"))
    assert info["rows"]["datasets"] == 1 and info["rows"]["traces"] >= 30
    assert info["size_bytes"] > 0 and info["revision"] == HEAD


def _traced(count: int) -> list[str]:
    @evaltrace.trace
    def work(i: int) -> int:
        evaltrace.update_current_trace(tags={"parity": "even" if i % 2 == 0 else "odd"})
        with evaltrace.start_span("inner") as span:
            span.set_outputs({"i": i})
        return i

    ids = []
    for i in range(count):
        work(i)
        ids.append(evaltrace.get_last_active_trace_id())
    evaltrace.flush()
    return ids


def test_export_import_round_trip(store_uri: str, tmp_path: Path) -> None:
    ids = _traced(7)
    out = tmp_path / "traces.jsonl"
    ok(cli(store_uri, tmp_path, "traces", "export", "-e", "0", "-o", str(out)))
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(t["info"]["trace_id"] for t in exported) == sorted(ids)
    assert not (tmp_path / "traces.jsonl.partial").exists()

    # Into a fresh SQLite file: the same traces, spans and tags come back.
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    ok(cli(copy, tmp_path, "traces", "import", str(out)))
    again = ok(cli(copy, tmp_path, "traces", "search", "-e", "0", "-f", "tags.parity = 'even'"))
    assert len(again) == 4
    original = evaltrace.get_trace(ids[3]).to_dict()
    copied = ok(cli(copy, tmp_path, "traces", "get", ids[3]))
    assert copied["data"] == original["data"] and copied["info"]["tags"] == {"parity": "odd"}
    ok(cli(copy, tmp_path, "traces", "import", str(out)))  # again: nothing doubles
    assert len(ok(cli(copy, tmp_path, "traces", "search", "-e", "0"))) == 7

    bad = tmp_path / "bad.jsonl"
    bad.write_text(out.read_text().splitlines()[0] + "\n{not json\n")
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert "bad.jsonl:2" in failed(cli(fresh, tmp_path, "traces", "import", str(bad)))
    assert ok(cli(fresh, tmp_path, "traces", "search", "-e", "0")) == []  # nothing half written


def test_import_into_another_experiment_says_what_was_written(
    store_uri: str, tmp_path: Path
) -> None:
    """Importing into another experiment of the same store printed "imported 3" and wrote
    nothing (the ids exist); -e NEW_NAME, the example in the command's own help, failed."""
    ids = _traced(3)
    out = tmp_path / "traces.jsonl"
    ok(cli(store_uri, tmp_path, "traces", "export", "-e", "0", "-o", str(out)))
    done = cli(store_uri, tmp_path, "traces", "import", str(out), "-e", "staging-copy")
    ok(done)
    staging = evaltrace.get_experiment_by_name("staging-copy")
    assert staging is not None  # made, as set_experiment makes it
    assert done.stderr.strip() == (
        f"imported 0 trace(s) into experiment {staging.experiment_id}; 3 already stored "
        "(in experiment 0) were left as they are"
    )
    assert {evaltrace.get_trace(i).info.experiment_id for i in ids} == {"0"}


def test_every_cli_failure_is_one_line_and_a_non_zero_exit(sqlite_uri: str, tmp_path: Path) -> None:
    """Each of these printed a Python traceback."""
    _traced(1)
    noise = tmp_path / "noise.jsonl"
    noise.write_bytes(b"\x80\x81" + bytes(range(256)) * 8)
    unterminated = tmp_path / "unterminated.csv"
    unterminated.write_text('inputs.q\n"never closed\n')
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    wide = tmp_path / "wide.csv"
    wide.write_text("inputs.q\nhi,extra\n")
    cases = [
        (sqlite_uri, ["traces", "import", str(noise)], "noise.jsonl:1: not UTF-8 text"),
        (sqlite_uri, ["datasets", "import", str(noise), "--name", "d"], "noise.jsonl:"),
        (sqlite_uri, ["datasets", "import", str(unterminated), "--name", "d"], "not valid CSV"),
        (sqlite_uri, ["datasets", "import", str(deep), "--name", "d"], "nested too deeply"),
        (sqlite_uri, ["datasets", "import", str(wide), "--name", "d"], "wide.csv:2: 2 fields"),
        (
            sqlite_uri,
            ["traces", "export", "-e", "0", "-o", str(tmp_path / "missing-dir" / "t.jsonl")],
            "cannot write",
        ),
        ("bogus://x", ["db", "info"], "tracking URI has scheme 'bogus'"),
        ("bogus://user:hunter2@x", ["traces", "search"], "scheme 'bogus'"),
    ]
    for uri, args, expected in cases:
        message = failed(cli(uri, tmp_path, *args))
        assert expected in message, (args, message)
        assert "hunter2" not in message
    assert not list(tmp_path.glob("missing-dir*"))


def test_delete_by_id_filter_and_age(store_uri: str, tmp_path: Path) -> None:
    ids = _traced(6)
    refused = cli(store_uri, tmp_path, "traces", "delete", "--trace-id", ids[0])
    assert "without --yes" in failed(refused)
    assert len(evaltrace.search_traces(return_type="list")) == 6

    ok(cli(store_uri, tmp_path, "traces", "delete", "--trace-id", ids[0], "--yes"))
    ok(cli(store_uri, tmp_path, "traces", "delete", "-f", "tags.parity = 'odd'", "--yes"))
    left = {t.info.trace_id for t in evaltrace.search_traces(return_type="list")}
    assert left == {ids[2], ids[4]}
    assert "exactly one" in failed(cli(store_uri, tmp_path, "traces", "delete", "--yes"))
    assert "--older-than" in failed(
        cli(store_uri, tmp_path, "traces", "delete", "--older-than", "soon", "--yes")
    )
    ok(cli(store_uri, tmp_path, "traces", "delete", "--older-than", "1h", "--yes"))
    assert len(evaltrace.search_traces(return_type="list")) == 2  # younger than an hour
    done = cli(store_uri, tmp_path, "traces", "delete", "--older-than", "0s", "--yes")
    assert "deleted 2" in ok(done) + done.stderr
    assert evaltrace.search_traces(return_type="list") == []
    with pytest.raises(evaltrace.TraceNotFoundError):
        evaltrace.get_trace(ids[2])


def test_dataset_import_merges_and_a_bad_file_writes_nothing(
    store_uri: str, tmp_path: Path
) -> None:
    good = tmp_path / "records.jsonl"
    good.write_text(
        '{"inputs": {"q": "a"}, "expectations": {"expected_response": "A"}}\n'
        '{"inputs": {"q": "b"}, "expectations": {"expected_response": "B"}}\n'
    )
    ok(cli(store_uri, tmp_path, "datasets", "import", str(good), "--name", "imported"))
    assert len(evaltrace.datasets.get_dataset("imported").records) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"inputs": {"q": "c"}}\n{"inputs": 5}\n')
    failed(cli(store_uri, tmp_path, "datasets", "import", str(bad), "--name", "imported"))
    assert evaltrace.datasets.get_dataset("imported").version == 1


def test_db_upgrade_and_spool(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'new.db'}"
    done = cli(uri, tmp_path, "db", "upgrade")
    assert done.returncode == 0 and HEAD in done.stderr
    assert ok(cli(uri, tmp_path, "spool", "status")) == []
    assert cli(uri, tmp_path, "spool", "recover").returncode == 0


def test_server_refuses_to_listen_beyond_loopback_without_a_token(tmp_path: Path) -> None:
    error = failed(cli("", tmp_path, "server", "--host", "0.0.0.0", "--port", "0"))
    assert "EVALTRACE_SERVER_TOKEN" in error


def test_the_server_banner_hides_the_database_password(postgres_uri: str, tmp_path: Path) -> None:
    """The store's password (ignored by the test server's trust authentication) is not
    printed when the server starts."""
    with_password = postgres_uri.replace("postgres@", "postgres:s3cret-pw@", 1)
    with running_server(with_password, tmp_path / "spool") as base:
        port = base.rsplit(":", 1)[1]
    banner = (tmp_path / f"server-{port}.log").read_text()
    assert "postgres:***@" in banner and "s3cret-pw" not in banner


def test_experiments_are_made_renamed_deleted_and_restored(store_uri: str, tmp_path: Path) -> None:
    made = ok(cli(store_uri, tmp_path, "experiments", "create", "bot", "--tag", "team=a"))
    experiment_id = made.strip()
    ok(cli(store_uri, tmp_path, "experiments", "rename", experiment_id, "bot-v2"))
    ok(cli(store_uri, tmp_path, "experiments", "delete", experiment_id))
    listed = ok(
        cli(store_uri, tmp_path, "experiments", "list", "--view", "deleted", "--format", "json")
    )
    assert [(e["name"], e["tags"]) for e in listed] == [("bot-v2", {"team": "a"})]
    taken = cli(store_uri, tmp_path, "experiments", "create", "bot-v2")
    assert (
        taken.returncode == 1 and taken.stderr.count("\n") == 1 and "exists already" in taken.stderr
    )
    ok(cli(store_uri, tmp_path, "experiments", "restore", experiment_id))
    listed = ok(
        cli(store_uri, tmp_path, "experiments", "list", "-f", "name = 'bot-v2'", "--format", "json")
    )
    assert [e["lifecycle_stage"] for e in listed] == ["active"]


def test_prompts_from_the_shell(store_uri: str, tmp_path: Path) -> None:
    template = tmp_path / "support.txt"
    template.write_text("Answer {{question}}.")
    assert (
        ok(
            cli(
                store_uri,
                tmp_path,
                "prompts",
                "register",
                "support",
                "--template-file",
                str(template),
            )
        ).strip()
        == "prompts:/support/1"
    )
    ok(cli(store_uri, tmp_path, "prompts", "alias", "support", "production", "1"))
    shown = ok(
        cli(
            store_uri,
            tmp_path,
            "prompts",
            "show",
            "prompts:/support@production",
            "--format",
            "json",
        )
    )
    assert (shown["version"], shown["template"], shown["aliases"]) == (
        1,
        "Answer {{question}}.",
        ["production"],
    )
    listed = ok(cli(store_uri, tmp_path, "prompts", "list", "--format", "json"))
    assert [(p["name"], p["latest_version"]) for p in listed] == [("support", 1)]
    missing = cli(store_uri, tmp_path, "prompts", "show", "prompts:/support/7")
    assert missing.returncode == 1 and "version 7 not found" in missing.stderr
