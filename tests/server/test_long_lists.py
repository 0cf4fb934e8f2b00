"""Long lists in the real server's pages and JSON: paged, never cut without a word. The session
page showed the oldest 500 turns of a 615-turn session, the sessions list stopped at 100 and the
datasets list at 500, none saying so."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import httpx

import evaltrace
from evaltrace.datasets import create_dataset
from tests.server.live import running_server


@evaltrace.trace
def turn(question: str, session_id: str) -> str:
    evaltrace.update_current_trace(metadata={"mlflow.trace.session": session_id})
    return f"answer to {question}"


def _next_link(html: str) -> str | None:
    found = re.search(r'id="next-page" href="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def test_sessions_turns_and_datasets_are_paged(sqlite_uri: str, tmp_path: Path) -> None:
    evaltrace.set_tracking_uri(sqlite_uri)
    for n in range(615):
        turn(f"question {n}", "long-talk")
    for n in range(104):
        turn("hello", f"short-{n:03}")
    for n in range(503):
        create_dataset(f"ds-{n:03}")
    evaltrace.flush()

    with running_server(sqlite_uri, tmp_path / "spool") as base, httpx.Client() as http:
        # The 615-turn session: 500 turns, then the other 115 on the next page.
        path = f"{base}/experiments/0/sessions/long-talk"
        first = http.get(path).text
        assert first.count("answer to question") == 500 and "Turns 1-500" in first
        assert "answer to question 0<" in first and "answer to question 499<" in first
        link = _next_link(first)
        assert link is not None
        second = http.get(path + link).text
        assert second.count("answer to question") == 115 and "Turns 501-615" in second
        assert "answer to question 614<" in second and _next_link(second) is None

        # 105 sessions: 100, then 5.
        sessions = http.get(f"{base}/experiments/0/sessions").text
        assert "Showing 1-100 sessions" in sessions
        rest = http.get(f"{base}/experiments/0/sessions" + (_next_link(sessions) or "")).text
        assert "Showing 101-105 sessions" in rest and _next_link(rest) is None
        api = http.get(f"{base}/api/experiments/0/sessions").json()
        assert len(api["sessions"]) == 100 and api["next_offset"] == 100

        # 503 datasets: 500 of 503, then 3.
        datasets = http.get(f"{base}/datasets").text
        assert "Showing 1-500 of 503 datasets" in datasets
        rest = http.get(f"{base}/datasets" + (_next_link(datasets) or "")).text
        assert "Showing 501-503 of 503 datasets" in rest and rest.count('href="/datasets/ds-') == 3
        listed = http.get(f"{base}/api/datasets", params={"offset": 500}).json()
        assert listed["total"] == 503 and len(listed["datasets"]) == 3
