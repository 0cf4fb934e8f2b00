"""Two corpora for redaction, both must pass: every planted secret is redacted (nothing secret
stored), and ordinary data comes through unchanged (nothing ordinary destroyed). Built from
the reliability issue's fault campaign, which found 38 of 54 planted secrets in raw files and
prose like "risk-assessment-framework-overview" stored as "ri[REDACTED]"."""

from __future__ import annotations

import json

import pytest

import evaltrace
from evaltrace.tracer.redact import MARKER, redact

# Secrets inside free text: each must disappear, whatever key holds the text.
SECRET_TEXTS = {
    "openai": "key sk-proj-AbCdEfGhIjKlMnOpQrStUvWx123456",
    "jwt": "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
    "slack": "slack xoxb-123456789012-1234567890123-AbCdEfGhIjKl",
    "stripe": "charge with sk_live_51H8abcdefghijklmnopqrstu",
    "google": "maps AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "github_pat": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
    "github": "ghp_0123456789abcdefghijklmnopqrstuvwxyz",
    "basic": "Authorization: Basic dXNlcjpwYXNzd29yZA==",
    "bearer upper": "BEARER abcdef0123456789abcdef",
    "url password": "postgresql://app:Sup3rS3cret@db.internal:5432/prod",
    "query api_key": "GET https://api.example.com/v1/items?api_key=abc123def456&page=2",
    "query access_token": "https://example.com/cb?access_token=tok_9f8e7d6c5b4a",
    "private key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    # A fine-grained GitHub token with no "gh" anywhere in it (the pre-check looked for "gh").
    "github_pat no gh": "github_pat_11ABCDEF0_0123456789ZYXWVUTSRQPONMLKJ",
    # Credentials written as text: the key follows the key rules, the value goes.
    "text aws secret": "aws_secret_access_key = 1VOqSeCrEtAbCdEf0123456789xyzXYZ",
    "text env dump": "PATH=/usr/bin\nAZURE_OPENAI_API_KEY=0123456789abcdef0123456789abcdef\nHOME=/",
    "text export quoted": 'export STRIPE_SECRET="whsec_quoted0123456789"',
    "text yaml": "database:\n  host: db\n  password: Sup3rYaml!",
    "text colon token": "Token: tk-opaque-0123456789",
    "cookie header": "GET / HTTP/1.1\nCookie: sessionid=c00kieSess10n; csrftoken=csrfT0ken99",
    "azure storage": "DefaultEndpointsProtocol=https;AccountName=acct;"
    "AccountKey=QXp1cmVTdG9yYWdlS2V5MDEyMzQ1Njc4OQ==;EndpointSuffix=core.windows.net",
    "azure service bus": "Endpoint=sb://ns.servicebus.windows.net/;"
    "SharedAccessKeyName=Root;SharedAccessKey=SbKeyAbc0123456789=",
    "sql server": "Server=tcp:db.example.net,1433;Database=app;User ID=app;Password=AdoPass!42;",
}
SECRET_PARTS = {
    "openai": "AbCdEfGhIjKlMnOpQrStUvWx",
    "jwt": "dozjgNryP4J3jVmNHl0w5N",
    "slack": "AbCdEfGhIjKl",
    "stripe": "abcdefghijklmnopqrstu",
    "google": "SyA1234567890abcdefghij",
    "aws_access_key_id": "IOSFODNN7EXAMPLE",
    "github_pat": "abcdefghijklmnopqrstuvwxyz",
    "github": "0123456789abcdefghijklmnop",
    "basic": "dXNlcjpwYXNzd29yZA",
    "bearer upper": "abcdef0123456789abcdef",
    "url password": "Sup3rS3cret",
    "query api_key": "abc123def456",
    "query access_token": "tok_9f8e7d6c5b4a",
    "private key": "MIIEow",
    "github_pat no gh": "0123456789ZYXWVUTSRQPONMLKJ",
    "text aws secret": "1VOqSeCrEtAbCdEf",
    "text env dump": "0123456789abcdef0123456789abcdef",
    "text export quoted": "whsec_quoted",
    "text yaml": "Sup3rYaml",
    "text colon token": "tk-opaque",
    "cookie header": "c00kieSess10n",
    "azure storage": "QXp1cmVTdG9yYWdlS2V5",
    "azure service bus": "SbKeyAbc",
    "sql server": "AdoPass",
}
# Secrets under the key that holds them: the value disappears, numbers included.
SECRET_KEYS = {
    "password": "hunter2",
    "accessToken": "opaque-value-1",
    "clientSecret": "opaque-value-2",
    "secretKey": "opaque-value-3",
    "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "PGPASSWORD": "pg-pass-4",
    "DATABASE_URL": "opaque-value-5",
    "AZURE_OPENAI_KEY": "opaque-value-6",
    "SENTRY_DSN": "opaque-value-7",
    "passphrase": "correct horse battery staple",
    "pwd": "opaque-value-8",
    "pin": 4321,
    "x-api-key": "opaque-value-9",
    "session_token": "opaque-value-10",
}
# Ordinary data that looks a little like secrets: it must come through unchanged.
ORDINARY = {
    "title": "risk-assessment-framework-overview",
    "slug": "task-management-best-practices",
    "prose": "A bearer bond pays whoever holds it; a basic understanding helps.",
    "url": "https://example.com/docs?page=2&sort=asc",
    "email": "ann@example.com",
    "session_id": "s-42",
    "token_count": 812,
    "input_tokens": 120,
    "pass_rate": 0.93,
    "pass_at_k": 0.71,
    "token_budget": 4096,
    "cookie_consent": True,
    "password_reset_url": "https://example.com/reset",
    "time_to_first_token_ns": 123456,
    "max_tokens": 256,
    "tokenizer": "cl100k_base",
    "model": "gpt-4o-mini",
    "mlflow.trace.session": "conversation-7",
    # Text with a secret word before ":" or "=" that is not a credential.
    "prose_reset": "Password: please reset it from the settings page.",
    "status lines": "Status: pass\nPassed: 3\nmax_tokens: 512\ntoken_count=5\nToken usage: 120",
    "empty values": "password: none\nAPI_KEY=\ntoken: null",
    "conn_string": "DefaultEndpointsProtocol=https;AccountName=acct;EndpointSuffix=x",
    "banner": "Cookies: we use them to remember your language.",
    "summary": "Key: the main idea of the chapter is redaction.",
    "config": "model=gpt-4o-mini\ntemperature=0.2\nkeyboard_layout: us",
    "python": "token_budget = 4096\nif password_reset_url: send(password_reset_url)",
    "monkey": "monkey: banana",
}


@pytest.mark.parametrize("kind", sorted(SECRET_TEXTS))
def test_every_planted_secret_in_text_is_redacted(kind: str) -> None:
    redacted = redact({"note": SECRET_TEXTS[kind]})
    assert SECRET_PARTS[kind] not in json.dumps(redacted), redacted
    assert MARKER in redacted["note"]


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_every_secret_key_hides_its_value(key: str) -> None:
    assert redact({key: SECRET_KEYS[key], "other": "kept"}) == {key: MARKER, "other": "kept"}


def test_ordinary_data_comes_through_unchanged() -> None:
    assert redact(dict(ORDINARY)) == ORDINARY


def test_the_stored_trace_has_neither_leak_nor_damage() -> None:
    @evaltrace.trace
    def handle(payload: dict, notes: list) -> dict:
        return {"echo": notes, **ORDINARY}

    handle(dict(SECRET_KEYS), list(SECRET_TEXTS.values()))
    evaltrace.flush()
    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    text = trace.to_json()
    for part in SECRET_PARTS.values():
        assert part not in text, part
    assert trace.data.spans[0].inputs["payload"] == {key: MARKER for key in SECRET_KEYS}
    outputs = trace.data.spans[0].outputs
    assert {k: outputs[k] for k in ORDINARY} == ORDINARY


def test_status_messages_names_and_client_request_ids_are_redacted_too() -> None:
    """An sk- key in an exception's message was redacted in the exception event but stored
    verbatim in the span's status message; names and client request ids were not looked at."""
    key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx123456"

    @evaltrace.trace
    def call_api() -> None:
        evaltrace.update_current_trace(client_request_id=f"req {key}")
        with evaltrace.start_span(f"call with {key}"):
            pass
        raise PermissionError(f"401 for key {key}")

    with pytest.raises(PermissionError):
        call_api()
    evaltrace.flush()
    trace = evaltrace.get_trace(evaltrace.get_last_active_trace_id())
    assert "AbCdEfGhIjKlMnOp" not in trace.to_json()
    root = trace.data.root_span
    assert root is not None and root.status.description == f"PermissionError: 401 for key {MARKER}"
    assert trace.info.client_request_id == f"req {MARKER}"
    assert {s.name for s in trace.data.spans} == {"call_api", f"call with {MARKER}"}


def test_assessments_dataset_records_and_run_results_are_redacted(store_uri: str) -> None:
    """Outside traces nothing was redacted: an assessment's value, rationale and metadata, a
    dataset record's inputs, an evaluation run's stored outputs."""
    from evaltrace.datasets import create_dataset

    key = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx123456"

    @evaltrace.trace
    def echo(text: str) -> str:
        return text

    echo("hi")
    evaltrace.flush()
    trace_id = evaltrace.get_last_active_trace_id()
    evaltrace.log_feedback(
        trace_id=trace_id,
        name="leak",
        value=f"saw {key}",
        rationale=f"because {key}",
        metadata={"api_key": "raw"},
    )
    dataset = create_dataset("secrets")
    dataset.merge_records([{"inputs": {"text": f"use {key}", "password": "hunter2"}}])
    result = evaltrace.evaluate(data=[{"inputs": {"text": f"x {key}"}}], predict_fn=echo)
    stored = [
        evaltrace.get_trace(trace_id).to_json(),
        json.dumps([r.to_dict() for r in dataset.records]),
        json.dumps(evaltrace.get_evaluation_run(result.run_id).results[0].outputs),
    ]
    for text in stored:
        assert "AbCdEfGhIjKlMnOp" not in text and "hunter2" not in text and '"raw"' not in text


def test_keys_can_be_allowed_and_win_over_every_rule() -> None:
    """EVALTRACE_REDACT_ALLOW_KEYS: the one opt-out that is not "everything off"."""
    evaltrace.configure(redact_allow_keys="api_key_hint, TOKEN")

    @evaltrace.trace
    def configure_client(settings: dict) -> None:
        return None

    configure_client({"api_key_hint": "last four: 1234", "token": "public-demo", "secret": "x"})
    evaltrace.flush()
    span = evaltrace.get_trace(evaltrace.get_last_active_trace_id()).data.spans[0]
    assert span.inputs["settings"] == {
        "api_key_hint": "last four: 1234",
        "token": "public-demo",
        "secret": MARKER,  # not allowed: redacted as ever
    }


def test_long_text_is_scanned_in_linear_time() -> None:
    """The first look for credentials written as text used the key patterns themselves, and
    ``[a-z]+_key`` backtracks over every start of a long run of letters: a 1.1 MB argument
    never finished redacting. This finishes in milliseconds; the quadratic scan took hours."""
    long = "x" * 1_000_000
    assert redact({"context": long + " key: value"}) == {"context": long + " key: value"}
    assert redact({"context": long + "\napi_key: abc123xyz"})["context"].endswith(MARKER)


def test_key_patterns_of_your_own_apply_to_text_lines_too() -> None:
    evaltrace.configure(redact_keys="ssn, account_no")
    text = "name: Ann\nSSN: 123-45-6789\naccount_no = 00123"
    assert redact({"note": text}) == {"note": f"name: Ann\nSSN: {MARKER}\naccount_no = {MARKER}"}
