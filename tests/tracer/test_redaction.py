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
    for secret in ("hunter2", "xyz", OPENAI_KEY, "abc.def.ghi", "k-123"):
        assert secret not in text, secret
    root = trace.data._get_root_span()
    assert root is not None
    assert root.inputs["password"] == MARKER and root.inputs["user"] == "ann"
    assert root.inputs["config"] == {
        "nested": {"client_secret": MARKER, "timeout": 3},
        "list": [MARKER],
    }
    # session_id names a conversation, not a secret (it was redacted: metadata.session_id
    # = 's-42' then found nothing).
    assert root.outputs == {"session_id": "s-42", "greeting": "hello ann", "echo": MARKER}
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


CREDENTIALS = {
    "openai": OPENAI_KEY,
    "aws": "AKIAABCDEFGHIJKLMNOP",
    "github": "ghp_" + "a1B2" * 9,
    "bearer": "Bearer eyJhbGciOi.payload.sig",
    # Its newlines are escaped in the JSON text the value is decoded from.
    "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nIBAAK\n-----END RSA PRIVATE KEY-----",
}


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_each_credential_pattern_is_redacted_deep_inside_inputs_outputs_and_previews(
    kind: str,
) -> None:
    credential = CREDENTIALS[kind]

    @evaltrace.trace
    def handle(request: dict) -> list:
        return [{"reply": {"text": f"you sent <{credential}>"}}]

    handle({"messages": [{"role": "user", "content": f"my key: {credential}"}]})
    trace = stored()
    root = trace.data._get_root_span()
    assert root is not None
    assert root.inputs == {
        "request": {"messages": [{"role": "user", "content": f"my key: {MARKER}"}]}
    }
    assert root.outputs == [{"reply": {"text": f"you sent <{MARKER}>"}}]
    for preview in (trace.info.request_preview, trace.info.response_preview):
        assert preview is not None and MARKER in preview
    secret_part = credential.split()[-1][-12:]
    assert secret_part not in trace.to_json() and secret_part not in str(trace.info.to_dict())


def test_previews_keep_the_applications_json_when_nothing_is_redacted() -> None:
    @evaltrace.trace
    def answer(question: str, options: dict) -> dict:
        return {"answer": "Ja, gern \u2603", "tokens": 3, "nested": [1, {"password": ""}]}

    answer("Geht das?", {"temperature": 0.5, "tags": ["a", "b"]})
    info = stored().info
    assert info.request_preview == (
        '{"question": "Geht das?", "options": {"temperature": 0.5, "tags": ["a", "b"]}}'
    )
    assert info.response_preview == (
        '{"answer": "Ja, gern \u2603", "tokens": 3, "nested": [1, {"password": ""}]}'
    )


def test_a_secret_key_among_ordinary_keys_of_a_repeated_shape_is_redacted_every_time() -> None:
    @evaltrace.trace
    def connect(settings: dict) -> None:
        return None

    for token in ("t-1", "t-2", "t-3"):
        connect({"host": "db", "refresh_token": token, "max_tokens": 5})
        root = stored().data._get_root_span()
        assert root is not None
        assert root.inputs == {"settings": {"host": "db", "refresh_token": MARKER, "max_tokens": 5}}


def test_what_redaction_remembers_stays_bounded_for_dicts_keyed_by_data() -> None:
    from evaltrace.tracer import redact

    for n in range(3_000):
        big = {f"user-{n}-{i}": "x" for i in range(40)} | {"api_key": "k"}
        assert redact.redact(big)["api_key"] == MARKER
        small = {f"id-{n}": "x", "password": "p"}
        assert redact.redact(small) == {f"id-{n}": "x", "password": MARKER}
    assert len(redact._shapes) <= redact._MAX_REMEMBERED_SHAPES
    assert all(len(shape) <= redact._MAX_SHAPE_KEYS for shape, _ in redact._shapes)
    assert len(redact._keys) <= redact._MAX_REMEMBERED_KEYS


def test_the_reference_session_and_user_keys_are_identifiers_not_secrets() -> None:
    """The Sessions page groups by ``mlflow.trace.session``: redacting it (it has "session" in
    its name) turned every conversation into one called [REDACTED]."""

    @evaltrace.trace
    def turn() -> str:
        evaltrace.update_current_trace(
            metadata={
                "mlflow.trace.session": "conv-7",
                "mlflow.trace.user": "ann",
                "session_token": "s-secret",
            }
        )
        return "ok"

    turn()
    metadata = stored().info.trace_metadata
    assert metadata == {
        "mlflow.trace.session": "conv-7",
        "mlflow.trace.user": "ann",
        "session_token": MARKER,
    }


def test_processors_added_by_the_user_see_spans_redacted_as_stored() -> None:
    """A processor added with add_span_processor (an OTLP exporter, say) read the raw span:
    every secret the store never saw went out through it. It now gets the redacted copy,
    unless it asks for the raw one."""
    import json

    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    redacted, raw = InMemorySpanExporter(), InMemorySpanExporter()
    evaltrace.add_span_processor(SimpleSpanProcessor(redacted))
    evaltrace.add_span_processor(SimpleSpanProcessor(raw), redacted=False)

    @evaltrace.trace(name=f"failing {OPENAI_KEY}")
    def failing(password: str) -> None:
        raise RuntimeError(f"rejected key {OPENAI_KEY}")

    login("ann", "hunter2", {"nested": {"client_secret": "xyz", "timeout": 3}})
    with pytest.raises(RuntimeError):
        failing("pw-1")
    seen = redacted.get_finished_spans()
    assert len(seen) == 3  # call, login, failing
    text = json.dumps([json.loads(span.to_json()) for span in seen])
    for secret in ("hunter2", "xyz", OPENAI_KEY, "abc.def.ghi", "pw-1"):
        assert secret not in text, secret
    by_name = {span.name.split(" ")[0]: span for span in seen}
    inputs = json.loads(str(by_name["login"].attributes["evaltrace.span.inputs"]))  # type: ignore[index]
    assert inputs["password"] == MARKER and inputs["user"] == "ann"
    assert inputs["config"]["nested"] == {"client_secret": MARKER, "timeout": 3}
    assert by_name["call"].attributes == {
        **dict(by_name["call"].attributes or {}),
        "authorization": MARKER,
    }
    assert MARKER in str(by_name["failing"].status.description)
    raw_text = json.dumps([json.loads(span.to_json()) for span in raw.get_finished_spans()])
    assert "hunter2" in raw_text and OPENAI_KEY in raw_text  # opted out: as the app made it
