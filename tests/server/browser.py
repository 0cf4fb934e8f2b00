"""Debian's Chromium driven by Playwright (``playwright install`` cannot download browsers
here). Missing Chromium skips the browser tests, except in CI where it fails them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_REQUIRED = bool(os.environ.get("CI") or os.environ.get("EVALTRACE_REQUIRE_BROWSER"))


def launched_browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if _REQUIRED:
            pytest.fail(f"{CHROMIUM} is required here (CI): apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Any, tmp_path: Path, name: str) -> Path:
    """A full-page PNG in the test's directory, and in $EVALTRACE_TEST_SCREENSHOTS if set
    (that is how docs/ gets its pictures)."""
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("EVALTRACE_TEST_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(extra) / f"{name}.png"), full_page=False)
    return path
