"""Hostile payloads: stored (cut with the marker where over the cap), never an exception in the app.

Internal errors raise under the tests (EVALTRACE_RAISE_INTERNAL_ERRORS=1), so any of our own
failures on these payloads fails the test instead of being logged and swallowed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import evaltrace
from evaltrace._config import get_settings
from evaltrace.tracer.serialize import TRUNCATION_MARKER


def last_trace() -> evaltrace.Trace:
    trace_id = evaltrace.get_last_active_trace_id()
    assert trace_id is not None
    return evaltrace.get_trace(trace_id)


@evaltrace.trace
def echo(value: Any) -> Any:
    return value


class ReprRaises:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_ten_megabyte_payload_is_cut_to_the_cap_with_the_marker(store_uri: str) -> None:
    payload = "x" * 10_000_000
    assert echo(payload) is payload
    (span,) = last_trace().data.spans
    cap = get_settings().max_payload_chars
    # The argument's field is cut, the inputs stay a dict; the string output is cut whole.
    assert isinstance(span.inputs, dict) and isinstance(span.outputs, str)
    for stored in (span.inputs["value"], span.outputs):
        assert TRUNCATION_MARKER in stored
    assert len(json.dumps(span.inputs)) <= cap and len(span.outputs) <= cap + 100
    assert span.inputs["value"].endswith("of 10000000 characters]")


def test_thousand_level_nesting_is_stored_down_to_the_depth_limit(store_uri: str) -> None:
    nested: dict[str, Any] = {"leaf": 1}
    for _ in range(1000):
        nested = {"down": nested}
    assert echo(nested) is nested
    (span,) = last_trace().data.spans
    depth, node = 0, span.outputs
    while isinstance(node, dict) and "down" in node:
        depth, node = depth + 1, node["down"]
    assert 50 <= depth < 1000
    assert isinstance(node, str) and "nested deeper" in node


def test_a_trace_of_ten_thousand_spans_is_stored_whole(store_uri: str) -> None:
    @evaltrace.trace
    def leaf(i: int) -> int:
        return i

    @evaltrace.trace
    def root() -> int:
        return sum(leaf(i) for i in range(9_999))

    assert root() == sum(range(9_999))
    trace = last_trace()
    assert len(trace.data.spans) == 10_000
    assert {s.inputs["i"] for s in trace.data.spans if s.name == "leaf"} == set(range(9_999))


def test_non_utf8_bytes_and_lone_surrogates_are_stored(store_uri: str) -> None:
    raw = b"\xff\xfe caf\xe9"
    surrogate = b"file-\xff.txt".decode("utf-8", "surrogateescape")  # os.listdir gives these
    assert echo({"raw": raw, "name": surrogate}) == {"raw": raw, "name": surrogate}
    with evaltrace.start_span("attrs") as span:
        span.set_attribute("path", surrogate)
        evaltrace.update_current_trace(tags={"file": surrogate})
    trace = last_trace()
    assert trace.info.tags["file"] == "file-\ufffd.txt"
    assert trace.data.spans[0].attributes["path"] == "file-\ufffd.txt"
    (span,) = evaltrace.get_trace(
        evaltrace.search_traces(filter_string="name = 'echo'", return_type="list")[0].info.trace_id
    ).data.spans
    assert span.inputs["value"]["raw"].startswith("base64:")
    assert span.inputs["value"]["name"].startswith("file-")


def test_nan_and_infinities_are_stored_as_text(store_uri: str) -> None:
    values = [math.nan, math.inf, -math.inf]
    assert echo(values) is values
    with evaltrace.start_span("attrs") as span:
        span.set_attribute("score", math.nan)
        span.set_attribute("limit", math.inf)
        evaltrace.update_current_trace(tags={"score": math.nan}, metadata={"limit": -math.inf})
    trace = last_trace()
    assert trace.data.spans[0].attributes == {"score": "nan", "limit": "inf"}
    # Tag values that are not strings are kept as JSON text: NaN has none, so it is "nan".
    assert (trace.info.tags["score"], trace.info.trace_metadata["limit"]) == ('"nan"', '"-inf"')
    (echoed,) = evaltrace.search_traces(filter_string="name = 'echo'", return_type="list")
    assert echoed.data.spans[0].outputs == ["nan", "inf", "-inf"]


def test_objects_whose_repr_raises_are_named_not_raised(store_uri: str) -> None:
    odd = ReprRaises()
    assert echo(odd) is odd
    with evaltrace.start_span("attrs") as span:
        span.set_attribute("odd", odd)
        span.set_outputs({"odd": odd})
        evaltrace.update_current_trace(tags={"odd": odd}, metadata={"odd": odd})
    trace = last_trace()
    (span,) = trace.data.spans
    assert "unrepresentable ReprRaises" in span.attributes["odd"]
    assert "unrepresentable ReprRaises" in span.outputs["odd"]
    assert "unrepresentable ReprRaises" in trace.info.tags["odd"]
    (echoed,) = evaltrace.search_traces(filter_string="name = 'echo'", return_type="list")
    assert "unrepresentable ReprRaises" in echoed.data.spans[0].inputs["value"]


def test_lone_surrogates_survive_the_spool(tmp_path: Path) -> None:
    later = tmp_path / "later"
    evaltrace.set_tracking_uri(f"sqlite:///{later / 'db.sqlite'}")  # unreachable: spooled
    name = b"report-\xff.csv".decode("utf-8", "surrogateescape")
    assert echo(name) == name
    assert evaltrace.flush(timeout=1) is False
    later.mkdir()
    assert evaltrace.recover(timeout=30) is True
    assert last_trace().data.spans[0].outputs == "report-\ufffd.csv"


def test_an_exception_naming_a_non_utf8_file_is_stored(store_uri: str) -> None:
    name = b"r\xe9sum\xe9.txt".decode("utf-8", "surrogateescape")  # as os.listdir gives it

    @evaltrace.trace
    def check(filename: str) -> None:
        raise ValueError(f"cannot parse {filename}")

    try:
        check(name)
    except ValueError as exc:
        assert name in str(exc)  # the app's own exception, unchanged
    (span,) = last_trace().data.spans
    assert span.status.status_code == "ERROR"
    assert span.status.description == "ValueError: cannot parse r\ufffdsum\ufffd.txt"
    assert span.events[0].attributes["exception.message"] == "cannot parse r\ufffdsum\ufffd.txt"


BIG = {"past_64_bits": 2**70, "below_int64": -(2**63) - 1, "u64_max_plus_one": 2**64}


def test_integers_past_64_bits_are_stored_exactly(store_uri: str) -> None:
    assert echo(BIG) == BIG
    span = last_trace().data.spans[0]
    assert span.inputs == {"value": BIG} and span.outputs == BIG
    assert all(type(v) is int for v in span.outputs.values())


def test_integers_past_64_bits_survive_the_spool(tmp_path: Path) -> None:
    later = tmp_path / "later"
    evaltrace.set_tracking_uri(f"sqlite:///{later / 'db.sqlite'}")  # unreachable: spooled
    assert echo(BIG) == BIG
    assert evaltrace.flush(timeout=1) is False
    later.mkdir()
    assert evaltrace.recover(timeout=30) is True
    assert last_trace().data.spans[0].outputs == BIG
