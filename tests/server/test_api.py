"""The JSON API of the real server process, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.live import running_server

pytestmark = pytest.mark.parametrize(
    "seeded", ["sqlite", "postgresql"], indirect=True, scope="module"
)


@pytest.fixture
def api(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


def test_health_reports_the_store(api: httpx.Client, seeded: Any) -> None:
    body = api.get("/health").json()
    assert body["status"] == "ok" and body["store"] == "ok"
    assert "password" not in body["tracking_uri"]


def test_search_filters_orders_and_pages(api: httpx.Client, ids: dict[str, Any]) -> None:
    experiment = ids["experiment_id"]
    prod = api.get(
        "/api/traces", params={"experiment_id": experiment, "filter": "tags.env = 'prod'"}
    ).json()
    assert len(prod["traces"]) == 12
    assert {t["tags"]["env"] for t in prod["traces"]} == {"prod"}
    assert {t["name"] for t in prod["traces"]} == {"answer"}

    first = api.get("/api/traces", params={"experiment_id": experiment, "max_results": 5}).json()
    second = api.get(
        "/api/traces",
        params={
            "experiment_id": experiment,
            "max_results": 5,
            "page_token": first["next_page_token"],
        },
    ).json()
    first_ids = [t["trace_id"] for t in first["traces"]]
    assert len(first_ids) == 5 and not set(first_ids) & {t["trace_id"] for t in second["traces"]}
    times = [t["request_time"] for t in first["traces"] + second["traces"]]
    assert times == sorted(times, reverse=True)


def test_a_bad_filter_is_a_400_with_its_position(api: httpx.Client, ids: dict[str, Any]) -> None:
    response = api.get(
        "/api/traces", params={"experiment_id": ids["experiment_id"], "filter": "tags.env = "}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error_code"] == "INVALID_FILTER"
    assert body["position"] == len("tags.env = ")
    typo = api.get("/api/traces", params={"filter": "atributes.status = 'OK'"}).json()
    assert "did you mean" in typo["message"].lower() and "attributes" in typo["message"]


def test_outline_has_no_payloads_and_a_span_has_them(
    api: httpx.Client, ids: dict[str, Any]
) -> None:
    outline = api.get(f"/api/traces/{ids['chat']}/outline").json()
    assert outline["columns"][:3] == ["span_id", "parent_id", "name"]
    names = [row[2] for row in outline["spans"]]
    assert names == ["chat", "ChatCompletion"]
    assert "gpt-4o-mini" not in str(outline)  # inputs are not in the outline
    child = outline["spans"][1]
    assert child[1] == outline["spans"][0][0]
    span = api.get(f"/api/traces/{ids['chat']}/spans/{child[0]}").json()
    assert span["inputs"]["model"] == "gpt-4o-mini"
    assert api.get(f"/api/traces/{ids['chat']}/spans/ffffffffffffffff").status_code == 404


def test_unknown_ids_are_404_json(api: httpx.Client) -> None:
    # An experiment id past 64 bits was a 500 (OverflowError on SQLite; found by the fuzzer).
    for path in (
        "/api/traces/tr-missing",
        "/api/runs/run-missing",
        "/api/datasets/missing",
        "/api/experiments/9223372036854775808/sessions",
        "/api/experiments/x1/sessions",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response.json()["error_code"] == "NOT_FOUND"


def test_a_rebound_host_name_is_refused_by_a_server_without_a_token(
    api: httpx.Client, server: str
) -> None:
    """DNS rebinding: a page whose name rebinds to 127.0.0.1 reached /api/ with its own Host."""
    port = server.rsplit(":", 1)[1]
    for method, path in (("GET", "/api/traces"), ("POST", "/api/experiments"), ("GET", "/")):
        response = api.request(method, path, headers={"Host": f"evil.example:{port}"}, json={})
        assert response.status_code == 421, (method, path)
        assert response.json()["error_code"] == "MISDIRECTED_REQUEST"
        assert "evil.example" in response.json()["message"]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "app.localhost"):
        assert api.get("/api/experiments", headers={"Host": host}).status_code == 200, host


def test_allowed_host_names_and_token_servers_answer_other_names(
    seeded: Any, tmp_path: Path
) -> None:
    uri, spool = seeded[0], tmp_path / "spool"
    with running_server(uri, spool, EVALTRACE_SERVER_ALLOWED_HOSTS="traces.internal") as base:
        named = httpx.get(base + "/api/experiments", headers={"Host": "traces.internal"})
        other = httpx.get(base + "/api/experiments", headers={"Host": "evil.example"})
        assert (named.status_code, other.status_code) == (200, 421)
    with running_server(uri, spool, EVALTRACE_SERVER_TOKEN="s3cret") as base:
        response = httpx.get(
            base + "/api/experiments",
            headers={"Host": "evil.example", "Authorization": "Bearer s3cret"},
        )
        assert response.status_code == 200


def test_a_not_found_answer_never_shows_the_store(api: httpx.Client, seeded: Any) -> None:
    """The HTML 404 page of an unknown trace printed the store URL (host, port, user)."""
    uri = seeded[0]
    shown = uri.split("://", 1)[1].split("/", 1)[0] or uri.rsplit("/", 1)[1]  # host or file
    for path in ("/traces/tr-missing", "/api/traces/tr-missing"):
        response = api.get(path)
        assert response.status_code == 404
        assert "tr-missing" in response.text
        assert shown not in response.text and "sqlite" not in response.text, response.text


def test_log_an_expectation_and_find_the_trace_by_it(
    api: httpx.Client, ids: dict[str, Any]
) -> None:
    trace_id = ids["failing"]
    response = api.post(
        f"/api/traces/{trace_id}/assessments",
        json={
            "assessment_type": "expectation",
            "name": "expected_response",
            "value": "retry later",
            "source_id": "ana",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["source"] == {"source_type": "HUMAN", "source_id": "ana"}
    found = api.get(
        "/api/traces",
        params={
            "experiment_id": ids["experiment_id"],
            "filter": "expectation.expected_response = 'retry later'",
        },
    ).json()
    assert [t["trace_id"] for t in found["traces"]] == [trace_id]
    deleted = api.delete(f"/api/traces/{trace_id}/assessments/{created['assessment_id']}")
    assert deleted.status_code == 200
    assert api.get(f"/api/traces/{trace_id}").json()["info"]["assessments"] == []


def test_bad_assessments_are_rejected_and_nothing_is_written(
    api: httpx.Client, ids: dict[str, Any]
) -> None:
    trace_id = ids["chat"]
    bad = [
        {"assessment_type": "opinion", "name": "x", "value": 1},
        {"assessment_type": "feedback", "name": "", "value": 1},
        {"assessment_type": "feedback", "name": "x", "value": 1, "span_id": "nope"},
    ]
    for body in bad:
        response = api.post(f"/api/traces/{trace_id}/assessments", json=body)
        assert response.status_code in (400, 404, 422), (body, response.text)
        assert "error_code" in response.json()
    assert api.get(f"/api/traces/{trace_id}").json()["info"]["assessments"] == []
    missing = api.post(
        "/api/traces/tr-missing/assessments",
        json={"assessment_type": "feedback", "name": "x", "value": 1},
    )
    assert missing.status_code == 404


def test_state_changes_need_json_or_the_csrf_token(api: httpx.Client, ids: dict[str, Any]) -> None:
    url = f"/api/traces/{ids['chat']}/assessments"
    body = '{"assessment_type": "feedback", "name": "x", "value": 1}'
    # What a hostile page can send without a CORS preflight: a "simple" content type.
    forged = api.post(url, content=body, headers={"content-type": "text/plain"})
    assert forged.status_code == 403 and forged.json()["error_code"] == "CSRF_FAILED"
    cross_site = api.post(
        url,
        content=body,
        headers={"content-type": "application/json", "sec-fetch-site": "cross-site"},
    )
    assert cross_site.status_code == 403
    form = api.post(f"/traces/{ids['chat']}/assessments", data={"kind": "feedback"})
    assert form.status_code == 403  # a page form without the token
    api.get("/experiments")
    token = api.cookies["evaltrace_csrf"]  # set by the first page the client saw
    with_token = api.post(
        f"/traces/{ids['chat']}/assessments",
        data={"kind": "feedback", "name": "helpful", "value": "true"},
        headers={"x-csrf-token": token},
    )
    assert with_token.status_code == 200
    assessments = api.get(f"/api/traces/{ids['chat']}").json()["info"]["assessments"]
    assert [(a["name"], a["value"]) for a in assessments] == [("helpful", True)]
    api.delete(f"/api/traces/{ids['chat']}/assessments/{assessments[0]['assessment_id']}")


def test_oversized_bodies_are_refused(api: httpx.Client, ids: dict[str, Any]) -> None:
    response = api.post(
        f"/api/traces/{ids['chat']}/assessments",
        content=b"x" * (11 * 1024 * 1024),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error_code"] == "REQUEST_TOO_LARGE"


def test_pages_escape_trace_content_and_send_a_strict_csp(
    api: httpx.Client, ids: dict[str, Any]
) -> None:
    for path in (f"/traces/{ids['hostile']}", f"/experiments/{ids['experiment_id']}/traces"):
        response = api.get(path)
        assert response.status_code == 200
        assert "<script>window.__xss" not in response.text
        assert "&lt;script&gt;window.__xss" in response.text
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-frame-options"] == "DENY"


def test_errors_show_no_sql_or_stack(api: httpx.Client) -> None:
    response = api.get("/api/traces", params={"page_token": "not-a-token"})
    assert response.status_code == 400
    assert "Traceback" not in response.text and "SELECT" not in response.text


def test_sessions_datasets_and_runs(api: httpx.Client, ids: dict[str, Any]) -> None:
    sessions = api.get(f"/api/experiments/{ids['experiment_id']}/sessions").json()["sessions"]
    assert [(s["session_id"], s["trace_count"]) for s in sessions] == [("conv-1", 3)]
    golden = api.get("/api/datasets/golden").json()
    assert golden["version"] == 2 and golden["record_count"] == 3
    assert golden["tags"] == {"team": "support"}
    first = api.get("/api/datasets/golden", params={"version": 1}).json()
    assert len(first["records"]) == 2
    runs = api.get("/api/runs", params={"model_id": "bot"}).json()["runs"]
    assert [r["run_id"] for r in runs] == [ids["run_b"], ids["run_a"]]
    compared = api.get("/api/runs/compare", params={"run_a": ids["run_a"], "run_b": ids["run_b"]})
    changes = {row["inputs"]["question"]: row["change"] for row in compared.json()["rows"]}
    assert changes["shipping?"] == "regression" and changes["hours?"] == "improvement"


def test_add_traces_to_a_dataset_then_delete_a_trace(
    api: httpx.Client, ids: dict[str, Any]
) -> None:
    response = api.post(
        "/api/datasets/add-traces",
        json={"trace_ids": [ids["chat"]], "dataset_name": "from-api"},
    )
    assert response.status_code == 200 and response.json()["version"] == 1
    records = api.get("/api/datasets/from-api").json()["records"]
    assert records[0]["source"]["source_data"]["trace_id"] == ids["chat"]
    assert records[0]["inputs"] == {"question": "where is my order?", "session_id": None}

    assert api.delete(f"/api/traces/{ids['hostile']}").status_code == 200
    assert api.get(f"/api/traces/{ids['hostile']}").status_code == 404
    assert api.delete(f"/api/traces/{ids['hostile']}").status_code == 404


def test_the_api_is_described_by_openapi(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {
        "/api/traces",
        "/api/traces/{trace_id}",
        "/api/traces/{trace_id}/outline",
        "/api/traces/{trace_id}/assessments",
        "/api/datasets",
        "/api/runs/compare",
        "/health",
    } <= paths
    assert not any(p.startswith("/experiments") for p in paths)  # pages are not API
    # No Swagger page: it needs a CDN and inline script, which the CSP refuses.
    assert api.get("/docs").status_code == 404


def test_correcting_an_assessment_keeps_its_history(api: httpx.Client, ids: dict[str, Any]) -> None:
    trace_id = ids["failing"]
    first = api.post(
        f"/api/traces/{trace_id}/assessments",
        json={"assessment_type": "feedback", "name": "correct", "value": False, "rationale": "no"},
    ).json()
    edited = api.patch(
        f"/api/traces/{trace_id}/assessments/{first['assessment_id']}",
        json={"value": True, "rationale": "on second look", "source_id": "lead"},
    )
    assert edited.status_code == 200, edited.text
    new = edited.json()
    assert new["overrides"] == first["assessment_id"] and new["value"] is True
    stored = api.get(f"/api/traces/{trace_id}").json()["info"]["assessments"]
    assert [(a["value"], a["valid"]) for a in stored if a["name"] == "correct"] == [
        (False, False),
        (True, True),
    ]
    for a in stored:
        api.delete(f"/api/traces/{trace_id}/assessments/{a['assessment_id']}")


def test_the_store_api_refuses_malformed_calls_with_400(api: httpx.Client) -> None:
    """What a client cannot send: a class nobody registered, arguments of the wrong type, a
    forged filter tree, nesting past any sense, a gzip bomb's worth of nothing. Each is a
    JSON 400 naming the problem, never a 500."""
    import gzip

    forged_key = {"$": "Key", "v": {"kind": {"$enum": "KeyKind", "v": "attribute"}, "name": "x"}}
    forged = {
        "$": "Comparison",
        "v": {"key": forged_key, "op": {"$enum": "Op", "v": "="}, "value": 1},
    }
    bodies = {
        "get_trace": {"args": [{"$": "subprocess.Popen", "v": {}}]},
        "append_spans": {"args": [[0]]},
        "search_traces": {"args": [["0"]], "kwargs": {"filter": forged, "max_results": 1}},
    }
    for call, body in bodies.items():
        answer = api.post(f"/api/2/store/{call}", json=body)
        assert answer.status_code == 400, (call, answer.text)
        assert answer.json()["error_code"] in ("INVALID_ARGUMENT", "INVALID_FILTER"), call
    for depth in (900, 3000):  # under and over the JSON parser's own limit
        deep = '{"args": [' + "[" * depth + "]" * depth + "]}"
        answer = api.post(
            "/api/2/store/get_trace_info",
            content=deep,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == 400, (depth, answer.text)
    bomb = gzip.compress(b"[" * 10_000_000)
    answer = api.post(
        "/api/2/store/get_trace",
        content=bomb,
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert answer.status_code == 400


def test_sub_cent_costs_read_as_numbers_and_compare_asks_for_two_runs(api: httpx.Client) -> None:
    """Costs under a cent read "$0.0000" in the list (four places); "Compare" with fewer than
    two runs ticked was a 422 page of validation errors."""
    from evaltrace.server.views import usd

    assert [usd(v) for v in (0.0000213, 0.0042, 0.01, 12.5, 0, None)] == [
        "$0.0000213", "$0.00420", "$0.0100", "$12.5000", "$0", "",
    ]  # fmt: skip
    for query in ("", "?run_a=run-1"):
        page = api.get(f"/runs/compare{query}", headers={"accept": "text/html"})
        assert page.status_code == 400
        assert "Pick two runs to compare" in page.text
