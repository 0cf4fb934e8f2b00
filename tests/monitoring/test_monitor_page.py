"""The monitors page in a real browser, against ``evaltrace server --monitor`` (the worker
running inside the server process) judging traces this test writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import evaltrace
from evaltrace._session import get_session
from tests.monitoring.app_scorers import answer_length, broken
from tests.server.browser import launched_browser, screenshot
from tests.server.live import running_server
from tests.waiting import eventually

HOSTILE = "<img src=x onerror=alert(1)>"


@evaltrace.trace
def app(question: str) -> str:
    return f"answer to {question}"


@pytest.fixture
def browser() -> Iterator[Any]:
    yield from launched_browser()


def test_monitors_page_shows_state_counts_and_a_chart_with_drill_down(
    browser: Any, tmp_path: Path
) -> None:
    answer_length.register(name="length").start()
    broken.register(name=f"broken {HOSTILE}").start()
    for i in range(9):
        app(f"question {i}")
    app(HOSTILE)
    assert evaltrace.flush(timeout=30)
    get_session().release_connections()
    experiment = get_session().experiment_id()
    with running_server(
        get_session().tracking_uri, tmp_path / "spool", EVALTRACE_SERVER_MONITOR="1"
    ) as base:

        def judged() -> bool:
            found = httpx.get(f"{base}/api/experiments/{experiment}/monitors").json()
            return sorted(
                s["counts"].get("scored", 0) + s["counts"].get("error", 0) for s in found
            ) == [10, 10]

        assert eventually(judged, timeout=60), "the server's monitor worker should judge all"
        context = browser.new_context(base_url=base, viewport={"width": 1200, "height": 900})
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"/experiments/{experiment}/monitors")
        rows = page.locator("tr.monitor-row")
        assert rows.count() == 2
        length_row = page.locator("tr.monitor-row[data-name='length']")
        assert "scored 10" in length_row.inner_text() and "active" in length_row.inner_text()
        assert HOSTILE in page.locator("tr.monitor-row").nth(0).inner_text()  # shown as text
        broken_row = page.locator("tr.monitor-row", has_text="broken")
        last_error = broken_row.locator("td.last-error").inner_text()
        assert "RuntimeError: this scorer always fails" in last_error
        assert length_row.locator("td.last-error").inner_text().strip() == ""
        assert page.locator("figure.monitor-chart rect.score-bar").count() >= 1
        assert page.locator("figure.monitor-chart rect.score-bar-error").count() >= 1
        screenshot(page, tmp_path, "monitors")
        chart = page.locator("figure.monitor-chart", has_text="length:")
        chart.locator("a").first.click()
        page.wait_for_url("**/monitors/length/traces*")
        judged_rows = page.locator("#judged tbody tr")
        assert judged_rows.count() >= 1
        assert all(
            "/traces/" in (link or "")
            for link in [
                judged_rows.nth(i).locator("a").get_attribute("href")
                for i in range(judged_rows.count())
            ]
        )
        screenshot(page, tmp_path, "monitor-traces")
        assert dialogs == []  # trace content and scorer names are escaped
        context.close()
