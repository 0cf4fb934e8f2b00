"""The README's example runs as documented."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.server.live import running_server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, cwd: Path, **settings: str) -> str:
    """Run examples/<name> as a user would, in a clean environment (but for ``settings``); its
    standard output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALTRACE_", "OPENAI_"))}
    env.update(settings)
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )
    return result.stdout


def test_quickstart_runs_offline(tmp_path: Path) -> None:
    stdout = run_example("quickstart.py", tmp_path)
    assert "Full refunds within 30 days" in stdout
    assert "3 most recent traces in experiment 'support-bot'" in stdout
    assert (tmp_path / "evaltrace.db").exists()


# What the extras bring: a user's `pip install .` has none of them.
EXTRAS_ONLY = (
    "pandas", "openai", "fastapi", "uvicorn", "jinja2", "psycopg",
    "google.protobuf", "opentelemetry.proto", "opentelemetry.exporter",
)  # fmt: skip
README = EXAMPLES.parent / "README.md"


def test_the_readme_install_is_a_users_and_the_quickstart_needs_only_the_core(
    tmp_path: Path,
) -> None:
    """The README's first command installed the contributor toolchain ([dev]: mypy, ruff,
    Playwright, schemathesis...) to run a 20-line example."""
    install = re.search(
        r"## Install and run the example\n\n```bash\n(.+?)\n```", README.read_text()
    )
    assert install is not None
    assert install.group(1) == "pip install . && python examples/quickstart.py"
    tests = re.search(r"## Run the tests\n\n```bash\n(.+?)\n```", README.read_text())
    assert tests is not None and tests.group(1) == 'pip install -e ".[dev]" && python -m pytest'
    blocker = (
        "import importlib.abc, runpy, sys\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.startswith({EXTRAS_ONLY!r}):\n"
        "            raise ImportError(f'{name} is not in the core install')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"runpy.run_path({str(EXAMPLES / 'quickstart.py')!r}, run_name='__main__')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVALTRACE_", "OPENAI_"))}
    done = subprocess.run(
        [sys.executable, "-c", blocker],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "3 most recent traces in experiment 'support-bot'" in done.stdout


def test_support_bot_runs_offline_against_the_local_server(tmp_path: Path) -> None:
    stdout = run_example("support_bot.py", tmp_path)
    assert "Full refunds within 30 days" in stdout
    assert "1 annotated trace(s)" in stdout


def test_reference_003_workflow_runs_as_written_and_again(tmp_path: Path) -> None:
    """examples/_workflow_steps.py is reference/003's code with only the imports changed (and
    reference/002's get-or-create for its dataset): it runs, and runs again on the same store."""
    for _ in range(2):
        stdout = run_example("evaluation_workflow.py", tmp_path)
        assert "'support_quality/score': 0.667" in stdout
        assert "'contains_required_info/score': 1.0" in stdout
    steps = (EXAMPLES / "_workflow_steps.py").read_text()
    assert not re.search(r"^\s*(from|import) mlflow", steps, re.MULTILINE)
    assert "import evaltrace as mlflow" in steps


def test_the_examples_run_unchanged_against_a_server(tmp_path: Path) -> None:
    """The same scripts with only ``EVALTRACE_TRACKING_URI=http://...``: every trace, dataset,
    assessment and run goes to the server's store; nothing is written beside the scripts."""
    with running_server(f"sqlite:///{tmp_path / 'server.db'}", tmp_path / "server-spool") as url:
        work = tmp_path / "work"
        work.mkdir()
        stdout = run_example("quickstart.py", work, EVALTRACE_TRACKING_URI=url)
        assert "3 most recent traces in experiment 'support-bot'" in stdout
        stdout = run_example("support_bot.py", work, EVALTRACE_TRACKING_URI=url)
        assert "1 annotated trace(s)" in stdout
        stdout = run_example("evaluation_workflow.py", work, EVALTRACE_TRACKING_URI=url)
        assert "'support_quality/score': 0.667" in stdout
        assert list(work.iterdir()) == []  # no local database
        runs = httpx.post(
            f"{url}/api/2/store/runs/search",
            json={"args": [None, None, None]},
        ).json()["result"]
        assert len(runs) == 2  # the workflow evaluates twice: before and after its change
