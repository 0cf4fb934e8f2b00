"""Tokens with scopes, on a real server process: every route needs the scope its table says
(401 without a known token, 403 naming the token and the scope), through the HTTP store
too; an ingest token sends traces and reads nothing."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import evaltrace
from evaltrace._session import Session
from evaltrace.exceptions import AuthenticationError, PermissionDeniedError
from evaltrace.server.tokens import required_scopes
from evaltrace.store.http_api import SCOPES
from tests.server.live import ROOT, child_env, running_server

HOLDERS = {scope: f"{scope}-bot" for scope in SCOPES}


@pytest.fixture(scope="module")
def closed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    """A server with one token per scope (made by the CLI); (its URL, token by scope)."""
    directory = tmp_path_factory.mktemp("scoped")
    tokens_file = directory / "tokens.txt"
    tokens = {}
    for scope, name in HOLDERS.items():
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "evaltrace.cli",
                "tokens",
                "create",
                name,
                "--scope",
                scope,
                "--file",
                str(tokens_file),
            ],
            env=child_env(directory / "spool"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        tokens[scope] = made.stdout.strip()
    assert all(token not in tokens_file.read_text() for token in tokens.values())  # hashes only
    with running_server(
        f"sqlite:///{directory / 'store.db'}",
        directory / "spool",
        EVALTRACE_SERVER_TOKENS_FILE=str(tokens_file),
    ) as url:
        yield url, tokens


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "tr-0", path)


def test_every_route_takes_exactly_the_scopes_its_table_gives(
    closed_server: tuple[str, dict[str, str]],
) -> None:
    url, tokens = closed_server
    spec = httpx.get(f"{url}/openapi.json", headers={"authorization": f"Bearer {tokens['read']}"})
    routes = [
        (method.upper(), path)
        for path, operations in spec.json()["paths"].items()
        for method in operations
        if path != "/health"
    ]
    assert len(routes) > 90  # the JSON API, OTLP, and one route per store call
    for method, path in routes:
        target = url + _filled(path)
        body: dict[str, Any] = {"json": {}} if method != "GET" else {}
        anonymous = httpx.request(method, target, **body)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.json()["exception"] == "AuthenticationError"
        needed = required_scopes(method, path)
        for scope, token in tokens.items():
            answer = httpx.request(
                method, target, headers={"authorization": f"Bearer {token}"}, **body
            )
            if scope in needed:
                assert answer.status_code not in (401, 403), (scope, method, path, answer.text)
            else:
                assert answer.status_code == 403, (scope, method, path, answer.text)
                message = answer.json()["message"]
                assert HOLDERS[scope] in message and " or ".join(sorted(needed)) in message
                assert token not in answer.text  # a token is never echoed


_APP = """
import sys, evaltrace
@evaltrace.trace
def handle(i):
    return i
for i in range(5):
    handle(i)
assert evaltrace.flush(timeout=30), evaltrace.export_status()
print(evaltrace.get_last_active_trace_id())
"""


def test_an_ingest_token_sends_traces_and_reads_nothing(
    closed_server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    url, tokens = closed_server
    done = subprocess.run(
        [sys.executable, "-c", _APP],
        env=child_env(
            tmp_path / "spool",
            EVALTRACE_TRACKING_URI=url,
            EVALTRACE_TRACKING_TOKEN=tokens["ingest"],
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    trace_id = done.stdout.strip().splitlines()[-1]

    as_ingest = Session(tracking_uri=url, tracking_token=tokens["ingest"])
    with (
        as_ingest.use(),
        pytest.raises(PermissionDeniedError, match="'ingest-bot'.*needs admin or annotate or read"),
    ):
        evaltrace.get_trace(trace_id)
    as_reader = Session(tracking_uri=url, tracking_token=tokens["read"])
    with as_reader.use():
        assert [s.inputs for s in evaltrace.get_trace(trace_id).data.spans] == [{"i": 4}]
        with pytest.raises(PermissionDeniedError, match="'read-bot'.*needs admin or annotate"):
            evaltrace.log_feedback(trace_id=trace_id, name="quality", value=1)
    as_stranger = Session(tracking_uri=url, tracking_token="et_not-a-token")
    with as_stranger.use(), pytest.raises(AuthenticationError, match="not one this server knows"):
        evaltrace.get_trace(trace_id)
    for session in (as_ingest, as_reader, as_stranger):
        session.close()


def test_pages_hide_what_the_token_may_not_do(closed_server: tuple[str, dict[str, str]]) -> None:
    url, tokens = closed_server
    as_admin = Session(tracking_uri=url, tracking_token=tokens["admin"])
    with as_admin.use():

        @evaltrace.trace
        def answer(question: str) -> str:
            return "42"

        answer("?")
        as_admin.flush()
        trace_id = evaltrace.get_last_active_trace_id()
        experiment_id = evaltrace.get_trace(trace_id).info.experiment_id
        from evaltrace.labeling import create_labeling_session

        review = create_labeling_session("scoped-review")
        review.add_traces([trace_id])
    as_admin.close()
    pages = {
        f"/traces/{trace_id}": 'id="assessment-form"',
        f"/experiments/{experiment_id}/traces": "Add selected to dataset",
        f"/labeling/{review.labeling_session_id}": "Sync completed items",
    }
    for scope, shown in (("read", False), ("annotate", True), ("admin", True)):
        for path, form in pages.items():
            page = httpx.get(url + path, headers={"authorization": f"Bearer {tokens[scope]}"})
            assert page.status_code == 200
            assert (form in page.text) is shown, (scope, path)


def test_an_admin_manages_experiments_and_deletes_traces_from_the_server(
    closed_server: tuple[str, dict[str, str]],
) -> None:
    """The pages' forms (htmx: the CSRF header, an HX-Redirect answer) and their JSON twins:
    create, rename, delete an experiment, delete a trace; an annotate token may do none."""
    url, tokens = closed_server
    admin = httpx.Client(base_url=url, headers={"authorization": f"Bearer {tokens['admin']}"})
    annotator = {"authorization": f"Bearer {tokens['annotate']}"}
    page = admin.get("/experiments")
    assert 'id="create-experiment"' in page.text
    assert 'id="create-experiment"' not in httpx.get(f"{url}/experiments", headers=annotator).text

    made = admin.post("/experiments", data={"name": "from-the-page"})
    assert made.status_code == 204
    experiment_id = made.headers["hx-redirect"].split("/")[2]
    assert (
        admin.post(f"/experiments/{experiment_id}/rename", data={"new_name": "renamed"}).status_code
        == 204
    )
    listed = {
        e["name"]: e["experiment_id"] for e in admin.get("/api/experiments").json()["experiments"]
    }
    assert listed["renamed"] == experiment_id
    api_made = admin.post("/api/experiments", json={"name": "from-the-api"})
    assert api_made.status_code == 201
    assert admin.delete(f"/api/experiments/{api_made.json()['experiment_id']}").status_code == 200
    assert admin.post(f"/experiments/{experiment_id}/delete").status_code == 204
    names = {e["name"] for e in admin.get("/api/experiments").json()["experiments"]}
    assert not names & {"renamed", "from-the-api"}  # deleted: hidden
    refused = httpx.post(f"{url}/api/experiments", json={"name": "x"}, headers=annotator)
    assert refused.status_code == 403 and "needs admin" in refused.json()["message"]

    as_admin = Session(tracking_uri=url, tracking_token=tokens["admin"])
    with as_admin.use():

        @evaltrace.trace
        def answer() -> str:
            return "42"

        answer()
        as_admin.flush()
        trace_id = evaltrace.get_last_active_trace_id()
    as_admin.close()
    assert 'id="delete-trace"' in admin.get(f"/traces/{trace_id}").text
    assert 'id="delete-trace"' not in httpx.get(f"{url}/traces/{trace_id}", headers=annotator).text
    denied = httpx.post(f"{url}/traces/{trace_id}/delete", headers=annotator)
    assert denied.status_code == 403
    gone = admin.post(f"/traces/{trace_id}/delete")
    assert gone.status_code == 204 and gone.headers["hx-redirect"].endswith("/traces")
    assert admin.get(f"/api/traces/{trace_id}").status_code == 404
    admin.close()
