"""Secrets never reach the store: redaction is on by default, configurable, and extensible."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import evaltrace
from evaltrace.tracer.redact import MARKER

OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture(autouse=True)
def no_callback() -> Iterator[None]:
    yield
    evaltrace.set_redaction_callback(None)


@evaltrace.trace
def login(user: str, password: str, config: dict) -> dict:
    evaltrace.update_current_trace(
        tags={"api_key": "k-123"}, metadata={"note": f"key {OPENAI_KEY}"}
    )
    with evaltrace.start_span("call", attributes={"authorization": "Bearer abc.def.ghi"}) as span:
        span.add_event("retry", {"header": f"Bearer {OPENAI_KEY}"})
    return {"session_id": "s-42", "greeting": f"hello {user}", "echo": OPENAI_KEY}


def stored() -> evaltrace.Trace:
    return evaltrace.get_trace(evaltrace.get_last_active_trace_id())


def test_secrets_are_redacted_by_default() -> None:
    login(
        "ann", "hunter2", {"nested": {"client_secret": "xyz", "timeout": 3}, "list": [OPENAI_KEY]}
    )
    trace = stored()
    text = trace.to_json()
    for secret in ("hunter2", "xyz", OPENAI_KEY, "abc.def.ghi", "k-123", "s-42"):
        assert secret not in text, secret
    root = trace.data._get_root_span()
    assert root is not None
    assert root.inputs["password"] == MARKER and root.inputs["user"] == "ann"
    assert root.inputs["config"] == {
        "nested": {"client_secret": MARKER, "timeout": 3},
        "list": [MARKER],
    }
    assert root.outputs == {"session_id": MARKER, "greeting": "hello ann", "echo": MARKER}
    assert trace.info.tags == {"api_key": MARKER}
    assert trace.info.trace_metadata == {"note": f"key {MARKER}"}
    (call,) = trace.search_spans(name="call")
    assert call.attributes == {"authorization": MARKER}
    assert call.events[0].attributes == {"header": f"{MARKER}"}


def test_redaction_can_be_extended_and_turned_off() -> None:
    evaltrace.configure(redact_keys="ssn,account_no")
    evaltrace.set_redaction_callback(lambda path, text: text.replace("ann", "A."))
    login("ann", "pw", {"ssn": "123-45-6789", "account_no": "99"})
    root = stored().data._get_root_span()
    assert root is not None
    assert root.inputs["config"] == {"ssn": MARKER, "account_no": MARKER}
    assert root.inputs["user"] == "A."
    evaltrace.configure(redact=False)
    evaltrace.set_redaction_callback(None)
    login("ann", "pw", {})
    root = stored().data._get_root_span()
    assert root is not None and root.inputs["password"] == "pw"
