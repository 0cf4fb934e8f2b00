"""Every data page has a JSON twin under /api/ (datasette's habit), and names with "/" work in
both: six pages had none, and /api/datasets/team/qa answered 404 where its page answered 200."""

from __future__ import annotations

from pathlib import Path

import httpx

import evaltrace
from evaltrace.datasets import create_dataset
from evaltrace.labeling import InputText, create_label_schema, create_labeling_session
from tests.server.live import running_server


@evaltrace.trace
def turn(question: str) -> str:
    evaltrace.update_current_trace(metadata={"mlflow.trace.session": "team/talk-1"})
    return f"answer to {question}"


def test_each_data_page_has_a_json_twin_and_slashed_names_work(
    sqlite_uri: str, tmp_path: Path
) -> None:
    evaltrace.set_tracking_uri(sqlite_uri)
    turn("first")
    turn("second")
    evaltrace.flush()
    trace_id = evaltrace.get_last_active_trace_id()
    feedback = evaltrace.log_feedback(trace_id=trace_id, name="helpful", value=False)
    evaltrace.override_feedback(trace_id=trace_id, assessment_id=feedback.assessment_id, value=True)
    dataset = create_dataset("team/qa")
    dataset.merge_records([{"inputs": {"q": "a"}}])
    dataset.merge_records([{"inputs": {"q": "b"}}])
    create_label_schema("quality", type="feedback", title="Quality?", input=InputText())
    labeling = create_labeling_session("team review", label_schemas=["quality"])
    labeling.add_traces([trace_id])
    experiment = evaltrace.get_trace(trace_id).info.experiment_id
    session_path = f"/experiments/{experiment}/sessions/team/talk-1"

    with (
        running_server(sqlite_uri, tmp_path / "spool") as base,
        httpx.Client(base_url=base) as http,
    ):
        for page in (
            session_path,
            f"/traces/{trace_id}/assessments/history/helpful",
            "/datasets/team/qa",
            "/datasets/team/qa/diff?a=1&b=2",
            "/labeling",
            f"/labeling/{labeling.labeling_session_id}",
            f"/experiments/{experiment}/monitors/any/traces?start=0&end=1",
        ):
            assert http.get(page).status_code == 200, page
            twin = http.get("/api" + page)
            assert twin.status_code == 200, (page, twin.text)
            assert twin.headers["content-type"].startswith("application/json"), page

        turns = http.get(f"/api{session_path}").json()
        assert [t["response_preview"] for t in turns["turns"]] == [
            "answer to first",
            "answer to second",
        ]
        history = http.get(f"/api/traces/{trace_id}/assessments/history/helpful").json()
        assert [a["value"] for a in history["history"]] == [False, True]  # oldest first
        assert http.get("/api/datasets/team/qa").json()["name"] == "team/qa"
        diff = http.get("/api/datasets/team/qa/diff", params={"a": 1, "b": 2}).json()
        assert [r["inputs"] for r in diff["added"]] == [{"q": "b"}] and diff["removed"] == []
        sessions = http.get("/api/labeling").json()["sessions"]
        assert [s["name"] for s in sessions] == ["team review"]
        one = http.get(f"/api/labeling/{labeling.labeling_session_id}").json()
        assert [item["trace_id"] for item in one["items"]] == [trace_id]
        assert one["items"][0]["state"] == "pending"
