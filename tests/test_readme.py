"""The README documents what a user can set."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from evaltrace._config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_has_its_variable_in_the_configuration_table() -> None:
    text = README.read_text()
    rows = {
        line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| `EVALTRACE_")
    }
    missing = [f.name for f in fields(Settings) if f"`EVALTRACE_{f.name.upper()}`" not in rows]
    assert missing == []
