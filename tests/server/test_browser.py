"""The pages in a real browser (Chromium via Playwright) against the real server process."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.browser import launched_browser, screenshot
from tests.server.live import ROOT, child_env, running_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_browser()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", lambda dialog: page.errors.append(f"dialog: {dialog.message}"))
    yield page
    assert page.errors == []  # no script error, no alert() from trace content
    context.close()


def traces_url(ids: dict[str, Any]) -> str:
    return f"/experiments/{ids['experiment_id']}/traces"


def test_filter_traces_and_see_a_typo_explained(
    page: Any, ids: dict[str, Any], tmp_path: Path
) -> None:
    page.goto(traces_url(ids))
    page.fill("#filter", "tags.env = 'prod'")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**filter=*")
    rows = page.locator("tr.trace-row")
    assert rows.count() == 12
    assert set(page.locator("tr.trace-row .tag").all_inner_texts()) == {"env=prod"}
    screenshot(page, tmp_path, "traces")

    page.fill("#filter", "atributes.status = 'OK'")
    page.click("form.search button[type=submit]")
    error = page.locator("#filter-error")
    assert "did you mean" in error.inner_text().lower()
    assert error.locator("pre.caret").inner_text().splitlines()[1] == "^"  # at position 0


def test_open_a_trace_expand_a_span_and_read_the_conversation(
    page: Any, ids: dict[str, Any], tmp_path: Path
) -> None:
    page.goto(traces_url(ids) + "?filter=" + "attributes.name = 'chat'")
    page.locator("tr.trace-row a.trace-name").last.click()
    page.wait_for_selector(".span-row")
    assert page.locator(".span-row").count() == 2
    page.wait_for_selector(".span-detail")  # the root span opens by itself

    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    page.locator(".span-row", has_text="ChatCompletion").click()
    page.wait_for_selector(".span-detail h2:has-text('ChatCompletion')")
    assert len(fetched) == 1 and "/spans/" in fetched[0]  # only that span's payload
    conversation = page.locator("ol.chat").inner_text()
    assert "You are a shop assistant." in conversation
    assert "lookup_order" in conversation
    screenshot(page, tmp_path, "trace")

    page.locator(".span-row >> nth=0").locator("button.toggle").click()
    assert page.locator(".span-row").count() == 1  # collapsed: the child is hidden
    page.locator(".span-row >> nth=0").locator("button.toggle").click()
    assert page.locator(".span-row").count() == 2


def test_an_error_span_shows_its_exception(page: Any, ids: dict[str, Any]) -> None:
    page.goto(f"/traces/{ids['failing']}")
    page.wait_for_selector(".span-detail")
    event = page.locator(".event.exception")
    assert "ValueError: the model timed out" in event.inner_text()
    assert "Traceback" in event.locator("pre.stack").inner_text()


def test_add_an_expectation_then_find_the_trace_by_it(page: Any, ids: dict[str, Any]) -> None:
    page.goto(f"/traces/{ids['chat']}")
    form = page.locator("#assessment-form")
    form.locator("select[name=kind]").select_option("expectation")
    form.locator("input[name=name]").fill("expected_response")
    form.locator("input[name=value]").fill("track the parcel")
    form.locator("input[name=source_id]").fill("maria")
    form.locator("button[type=submit]").click()
    row = page.locator("tr.assessment[data-name=expected_response]")
    row.wait_for()
    assert "track the parcel" in row.inner_text() and "maria" in row.inner_text()

    # Correct it: the old one stays, struck through, and the new one is what searches see.
    row.locator("details.edit summary").click()
    assert row.locator("input[name=value]").input_value() == '"track the parcel"'
    row.locator("input[name=value]").fill("track the parcel online")
    row.locator("button:has-text('Save')").click()
    page.wait_for_selector("tr.assessment.overridden")
    rows = page.locator("tr.assessment[data-name=expected_response]").all_inner_texts()
    assert len(rows) == 2 and "track the parcel online" in rows[1]

    page.goto(traces_url(ids))
    page.fill("#filter", "expectation.expected_response = 'track the parcel online'")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**filter=*")
    links = page.locator("tr.trace-row").evaluate_all("rows => rows.map(r => r.dataset.traceId)")
    assert links == [ids["chat"]]


def test_a_bad_value_in_the_form_is_shown_and_nothing_is_logged(
    page: Any, ids: dict[str, Any]
) -> None:
    page.goto(f"/traces/{ids['failing']}")
    form = page.locator("#assessment-form")
    form.locator("input[name=name]").fill("x" * 300)  # past the name limit
    form.locator("input[name=value]").fill("1")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#assessments .error")
    assert page.locator("tr.assessment").count() == 0


def test_compare_two_runs(page: Any, ids: dict[str, Any], tmp_path: Path) -> None:
    page.goto("/runs?model_id=bot")
    page.check(f"tr[data-run-id='{ids['run_a']}'] input[name=run_a]")
    page.check(f"tr[data-run-id='{ids['run_b']}'] input[name=run_b]")
    page.click("#compare-form button[type=submit]")
    page.wait_for_url("**/runs/compare*")
    summary = page.locator("#compare-summary").inner_text()
    assert summary.startswith("1 regression(s) · 1 improvement(s)")
    assert page.locator("tr.change-regression").inner_text().count("shipping?") == 1
    screenshot(page, tmp_path, "compare")
    page.goto("/runs?model_id=bot")
    charts = page.locator("figure.chart")
    assert any("mentions_days/score" in text for text in charts.all_inner_texts())
    for i in range(charts.count()):
        assert charts.nth(i).locator("circle").count() == 2  # one point per run


def test_dataset_versions_diff_and_adding_traces(page: Any, ids: dict[str, Any]) -> None:
    page.goto("/datasets/golden")
    page.click("summary:has-text('Versions')")
    page.click("button:has-text('Diff')")
    page.wait_for_url("**/diff*")
    assert "1 added · 1 changed · 0 removed" in page.inner_text("main")

    page.goto(traces_url(ids) + "?filter=tags.env = 'dev'")
    page.locator("tr.trace-row input[type=checkbox]").nth(0).check()
    page.locator("tr.trace-row input[type=checkbox]").nth(1).check()
    page.fill("input[name=dataset_name]", "team/picked #1")  # a name that is no URL segment
    page.click("#selection button[type=submit]")
    page.wait_for_selector("#selection-result .notice")
    notice = page.inner_text("#selection-result")
    assert "Added 2 trace(s) to team/picked #1 (now version 1)" in notice
    page.click("#selection-result a")
    page.wait_for_selector("table.records")
    assert page.locator("h1").inner_text().startswith("team/picked #1")
    assert page.locator("table.records tbody tr").count() == 2


def test_hostile_trace_content_renders_as_text(page: Any, ids: dict[str, Any]) -> None:
    page.goto(f"/traces/{ids['hostile']}")
    page.wait_for_selector(".span-detail")
    assert page.evaluate("window.__xss") is None
    assert "<script>window.__xss = 1</script>" in page.inner_text("h1.trace-title")
    assert page.locator("main script, main img").count() == 0
    page.goto(traces_url(ids))
    assert page.evaluate("window.__xss") is None
    assert page.locator("main img").count() == 0


def test_new_traces_appear_without_a_reload(page: Any, ids: dict[str, Any], seeded: Any) -> None:
    page.goto(traces_url(ids))
    before = page.locator("tr.trace-row").count()
    script = (
        "import evaltrace, sys\n"
        "evaltrace.set_tracking_uri(sys.argv[1]); evaltrace.set_experiment('shop-bot')\n"
        "@evaltrace.trace(name='late-arrival')\n"
        "def f(): return 1\n"
        "f(); evaltrace.flush()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, seeded[0]],
        env=child_env(seeded[2]),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    page.wait_for_selector(
        "tr.trace-row.fresh a.trace-name:has-text('late-arrival')", timeout=20_000
    )
    assert page.locator("tr.trace-row").count() == before + 1


def test_a_token_server_asks_for_it(browser: Any, seeded: Any, tmp_path: Path) -> None:
    with running_server(seeded[0], tmp_path / "spool", EVALTRACE_SERVER_TOKEN="s3cret") as base:
        context = browser.new_context(base_url=base)
        page = context.new_page()
        page.goto("/experiments")
        assert "/login" in page.url
        page.fill("input[name=token]", "wrong")
        page.click("button[type=submit]")
        assert "not the server's" in page.inner_text("main")
        page.fill("input[name=token]", "s3cret")
        page.click("button[type=submit]")
        page.wait_for_url("**/experiments")
        assert "shop-bot" in page.inner_text("main")
        context.close()
