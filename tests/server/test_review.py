"""The review app in a real browser: two reviewers label one session with the keyboard, then
the owner syncs the labels into a dataset."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.browser import launched_browser, screenshot
from tests.server.live import ROOT, child_env, running_server

MAKE_SESSION = """
import sys, evaltrace, evaltrace.labeling as labeling
evaltrace.set_tracking_uri(sys.argv[1])
labeling.create_label_schema("tone", type="feedback", title="Is the tone right?",
    input=labeling.InputCategorical(options=["helpful", "curt", "rude"]), overwrite=True)
traces = evaltrace.search_traces(experiment_ids=[sys.argv[2]], return_type="list",
    filter_string="attributes.name = 'answer'", max_results=4)
session = labeling.create_labeling_session(sys.argv[3], assigned_users=["ana", "ben"],
    label_schemas=["tone", "expected_response"])
session.add_traces(traces)
print(session.labeling_session_id)
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launched_browser()


def make_session(seeded: Any, ids: dict[str, Any], name: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", MAKE_SESSION, seeded[0], ids["experiment_id"], name],
        env=child_env(seeded[2]),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def session_id(seeded: Any, ids: dict[str, Any]) -> str:
    return make_session(seeded, ids, "support review")


def reviewer_page(browser: Any, server: str, session_id: str, name: str) -> Any:
    context = browser.new_context(base_url=server, viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"/review/{session_id}")
    page.select_option("#reviewer-form select[name=reviewer]", name)
    page.click("#reviewer-form button[type=submit]")
    page.wait_for_selector("#review-progress")
    return page


def current_trace(page: Any) -> str | None:
    field = page.locator("#review-form input[name=trace_id]")
    return field.get_attribute("value") if field.count() else None


def label_with_keys(page: Any, option_key: str, expected: str) -> str:
    """Answer the item on screen with the keyboard; returns its trace id."""
    trace_id = current_trace(page)
    assert trace_id is not None
    page.fill("textarea[name='label.expected_response']", expected)
    page.locator("#reviewer").click()  # focus leaves the text box
    page.keyboard.press(option_key)
    assert page.locator("fieldset[data-schema=tone] input:checked").count() == 1
    page.keyboard.press("Enter")
    page.wait_for_function(
        "id => !document.querySelector(`#review-form input[value='${id}']`)", arg=trace_id
    )
    return trace_id


def test_two_reviewers_label_with_the_keyboard_then_sync(
    browser: Any, server: str, session_id: str, ids: dict[str, Any], tmp_path: Any
) -> None:
    ana = reviewer_page(browser, server, session_id, "ana")
    ben = reviewer_page(browser, server, session_id, "ben")
    assert current_trace(ana) != current_trace(ben)  # never the same item at once
    screenshot(ana, tmp_path, "review")

    first = current_trace(ana)
    ana.locator("#reviewer").click()
    ana.keyboard.press("Enter")  # nothing answered
    ana.wait_for_selector("#review-result .error")
    assert "answer at least one question" in ana.inner_text("#review-result")
    assert current_trace(ana) == first  # still the same item

    labeled = {
        label_with_keys(ana, "1", "Refunds take 30 days."),
        label_with_keys(ben, "2", "Shipping takes 5 days."),
    }
    skipped = current_trace(ben)
    ben.keyboard.press("s")  # ben passes on this one: it stays in the queue for ana
    ben.wait_for_function(
        "id => !document.querySelector(`#review-form input[value='${id}']`)", arg=skipped
    )
    while current_trace(ana) is not None:
        labeled.add(label_with_keys(ana, "1", "Open 9 to 5."))
    assert skipped in labeled and len(labeled) == 4
    assert "Nothing left for you" in ana.inner_text("main")

    owner = ana.context.new_page()
    owner.goto(f"/labeling/{session_id}")
    assert "4 of 4 completed" in owner.inner_text("#session-progress")
    owner.fill("input[name=dataset_name]", "reviewed")
    owner.click("form.toolbar button[type=submit]")
    owner.wait_for_selector("#sync-result .notice")
    assert "reviewed is at version 1 with 4 record(s)" in owner.inner_text("#sync-result")
    screenshot(owner, tmp_path, "labeling-session")
    records = httpx.get(f"{server}/api/datasets/reviewed").json()["records"]
    answers = sorted(r["expectations"]["expected_response"] for r in records)
    assert answers.count("Open 9 to 5.") == 2 and "Refunds take 30 days." in answers
    tones = httpx.get(
        f"{server}/api/traces",
        params={"experiment_id": ids["experiment_id"], "filter": "feedback.tone = 'curt'"},
    ).json()["traces"]
    assert len(tones) == 1  # ben's "2"
    assert ana.errors == [] and ben.errors == []


def test_add_traces_to_a_labeling_session_from_the_trace_list(
    browser: Any, server: str, session_id: str, ids: dict[str, Any]
) -> None:
    page = browser.new_context(base_url=server).new_page()
    page.goto(f"/experiments/{ids['experiment_id']}/traces?filter=attributes.name = 'chat'")
    for i in range(2):
        page.locator("tr.trace-row input[type=checkbox]").nth(i).check()
    page.hover("select[name=labeling_session_id]")
    page.wait_for_selector(
        f"select[name=labeling_session_id] option[value='{session_id}']", state="attached"
    )
    page.select_option("select[name=labeling_session_id]", session_id)
    page.click("#add-to-labeling")
    page.wait_for_selector("#selection-result .notice")
    assert "Added 2 trace(s) to support review" in page.inner_text("#selection-result")
    page.click("#selection-result a")
    page.wait_for_selector("#session-progress")
    assert "of 6 completed" in page.inner_text("#session-progress")


def test_on_a_token_server_the_reviewer_is_the_signed_in_user(
    seeded: Any, ids: dict[str, Any], tmp_path: Path
) -> None:
    """The name given at login is who labels (signed with the token); a forged name cookie,
    a name picked on the page, or another name typed into a form is not."""
    session = make_session(seeded, ids, "token review")
    with (
        running_server(seeded[0], tmp_path / "spool", EVALTRACE_SERVER_TOKEN="s3cret") as base,
        httpx.Client(base_url=base) as forged,
        httpx.Client(base_url=base) as ana,
        httpx.Client(base_url=base) as outsider,
    ):
        forged.cookies.set("evaltrace_token", "s3cret")
        forged.cookies.set("evaltrace_user", base64.urlsafe_b64encode(b"ana").decode())
        page = forged.get(f"/review/{session}")
        assert page.status_code == 200 and "Sign in with your name" in page.text
        assert 'id="review-form"' not in page.text
        csrf = forged.cookies["evaltrace_csrf"]
        picked = forged.post(
            f"/review/{session}/reviewer", data={"reviewer": "ana"}, headers={"x-csrf-token": csrf}
        )
        assert picked.status_code == 400 and "sign in with" in picked.json()["message"]

        login = ana.post("/login", data={"token": "s3cret", "user": "ana", "next": "/labeling"})
        assert login.status_code == 303
        page = ana.get(f"/review/{session}")
        assert 'id="review-form"' in page.text and 'id="signed-in">ana<' in page.text
        trace_id = page.text.split('name="trace_id" value="', 1)[1].split('"', 1)[0]
        done = ana.post(
            f"/review/{session}/submit",
            data={"trace_id": trace_id, "label.tone": "helpful"},
            headers={"x-csrf-token": ana.cookies["evaltrace_csrf"], "hx-request": "true"},
        )
        assert done.status_code == 204
        typed = ana.post(
            f"/traces/{trace_id}/assessments",
            data={"kind": "feedback", "name": "typed", "value": "1", "source_id": "mallory"},
            headers={"x-csrf-token": ana.cookies["evaltrace_csrf"]},
        )
        assert typed.status_code == 200
        info = ana.get(f"/api/traces/{trace_id}").json()
        sources = {a["name"]: a["source"]["source_id"] for a in info["info"]["assessments"]}
        assert sources["tone"] == "ana" and sources["typed"] == "ana"

        outsider.post("/login", data={"token": "s3cret", "user": "carl"})
        page = outsider.get(f"/review/{session}")
        assert "carl is not assigned to this session" in page.text
