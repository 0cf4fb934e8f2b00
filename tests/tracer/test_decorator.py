"""@trace on every kind of callable: inputs, outputs, errors, nesting."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from collections.abc import Iterator

import pytest

import evaltrace
from evaltrace import SpanStatusCode, SpanType, TraceState
from evaltrace.tracer.export import InMemoryTraceExporter

_traces: list[InMemoryTraceExporter] = []  # this test's exporter


@pytest.fixture(autouse=True)
def _traced_in_memory(trace_exporter: InMemoryTraceExporter) -> Iterator[None]:
    """@trace's own behaviour, read from the in-memory exporter: no store involved."""
    _traces.append(trace_exporter)
    yield
    _traces.clear()


def last_trace() -> evaltrace.Trace:
    trace_id = evaltrace.get_last_active_trace_id()
    assert trace_id is not None
    (found,) = [t for t in _traces[-1].traces if t.info.trace_id == trace_id]
    return found


def test_bare_decorator_records_inputs_with_defaults_and_output() -> None:
    @evaltrace.trace
    def answer(question: str, k: int = 3, *, style: str = "short") -> str:
        return f"{question}:{k}:{style}"

    assert answer("q") == "q:3:short"
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.name == "answer"
    assert span.span_type == SpanType.UNKNOWN
    assert span.inputs == {"question": "q", "k": 3, "style": "short"}
    assert span.outputs == "q:3:short"
    assert span.status.status_code is SpanStatusCode.OK
    assert trace.info.state is TraceState.OK
    assert trace.info.trace_id.startswith("tr-") and len(trace.info.trace_id) == 35


def test_configured_decorator_sets_name_type_and_attributes() -> None:
    @evaltrace.trace(name="pipeline", span_type=SpanType.CHAIN, attributes={"version": 2})
    def run(x: int) -> int:
        return x * 2

    run(x=21)
    (span,) = last_trace().data.spans
    assert (span.name, span.span_type, span.attributes) == ("pipeline", "CHAIN", {"version": 2})
    assert span.inputs == {"x": 21} and span.outputs == 42


def test_varargs_and_kwargs_are_bound_by_name() -> None:
    @evaltrace.trace
    def collect(first, *rest, **options):
        return len(rest)

    collect(1, 2, 3, flag=True)
    (span,) = last_trace().data.spans
    assert span.inputs == {"first": 1, "rest": [2, 3], "options": {"flag": True}}


def test_inputs_are_captured_at_call_time() -> None:
    @evaltrace.trace
    def mutate(items: list) -> int:
        items.append("added inside")
        return len(items)

    payload = ["original"]
    mutate(payload)
    payload.append("added after")
    (span,) = last_trace().data.spans
    assert span.inputs == {"items": ["original"]}


def test_methods_leave_out_self_and_cls() -> None:
    class Bot:
        greeting = "hi"

        @evaltrace.trace
        def answer(self, question: str) -> str:
            return f"{self.greeting} {question}"

        @evaltrace.trace
        @classmethod
        def build(cls, name: str) -> str:
            return f"{cls.__name__}:{name}"

        @evaltrace.trace
        @staticmethod
        def helper(value: int) -> int:
            return value + 1

    assert Bot().answer("there") == "hi there"
    assert last_trace().data.spans[0].inputs == {"question": "there"}
    assert Bot.build("x") == "Bot:x"
    assert last_trace().data.spans[0].inputs == {"name": "x"}
    assert Bot.helper(1) == 2
    assert last_trace().data.spans[0].inputs == {"value": 1}


def test_exception_is_recorded_and_the_same_object_reraised() -> None:
    class AppError(Exception):
        pass

    error = AppError("boom")

    @evaltrace.trace
    def fail() -> None:
        raise error

    with pytest.raises(AppError) as caught:
        fail()
    assert caught.value is error
    trace = last_trace()
    (span,) = trace.data.spans
    assert trace.info.state is TraceState.ERROR
    assert span.status.status_code is SpanStatusCode.ERROR
    assert "AppError: boom" in span.status.description
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"].endswith("AppError")
    assert event.attributes["exception.message"] == "boom"
    assert "raise error" in event.attributes["exception.stacktrace"]


def test_nested_calls_form_one_trace_with_parent_links() -> None:
    @evaltrace.trace
    def inner(x: int) -> int:
        return x + 1

    @evaltrace.trace(span_type=SpanType.AGENT)
    def outer(x: int) -> int:
        return inner(x) + inner(x)

    outer(1)
    trace = last_trace()
    root = trace.data._get_root_span()
    assert root is not None and root.name == "outer" and root.parent_id is None
    children = trace.search_spans(name="inner")
    assert len(children) == 2
    assert all(child.parent_id == root.span_id for child in children)
    assert {s.trace_id for s in trace.data.spans} == {trace.info.trace_id}


def test_coroutines_nest_across_asyncio_tasks() -> None:
    @evaltrace.trace
    async def fetch(i: int) -> int:
        await asyncio.sleep(0)
        return i

    @evaltrace.trace
    async def gather_all() -> list:
        return await asyncio.gather(*(asyncio.create_task(fetch(i)) for i in range(3)))

    assert asyncio.run(gather_all()) == [0, 1, 2]
    trace = last_trace()
    root = trace.data._get_root_span()
    assert root is not None and root.outputs == [0, 1, 2]
    fetches = trace.search_spans(name="fetch")
    assert sorted(s.inputs["i"] for s in fetches) == [0, 1, 2]
    assert all(s.parent_id == root.span_id for s in fetches)


def test_generator_span_ends_on_exhaustion_with_yielded_items() -> None:
    @evaltrace.trace
    def child() -> str:
        return "c"

    @evaltrace.trace
    def stream(n: int):
        for i in range(n):
            child()
            yield i

    assert list(stream(3)) == [0, 1, 2]
    trace = last_trace()
    root = trace.data._get_root_span()
    assert root is not None and root.outputs == [0, 1, 2]
    assert len(trace.search_spans(name="child")) == 3
    assert all(s.parent_id == root.span_id for s in trace.search_spans(name="child"))


def test_generator_output_reducer_and_send_and_return_value() -> None:
    @evaltrace.trace(output_reducer="".join)
    def tokens():
        received = yield "a"
        yield f"b{received}"
        return "done"

    gen = tokens()
    assert next(gen) == "a"
    assert gen.send("!") == "b!"
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "done"
    (span,) = last_trace().data.spans
    assert span.outputs == "ab!"


def test_generator_closed_early_ends_span_once() -> None:
    cleaned = []

    @evaltrace.trace
    def numbers():
        try:
            yield from range(10)
        finally:
            cleaned.append(True)

    gen = numbers()
    assert [next(gen), next(gen)] == [0, 1]
    gen.close()
    (span,) = last_trace().data.spans
    assert span.outputs == [0, 1]
    assert span.attributes["evaltrace.generator.closed_early"] is True
    assert cleaned == [True]


def test_generator_error_is_recorded_and_reraised() -> None:
    @evaltrace.trace
    def broken():
        yield 1
        raise KeyError("missing")

    gen = broken()
    next(gen)
    with pytest.raises(KeyError):
        next(gen)
    trace = last_trace()
    assert trace.info.state is TraceState.ERROR
    assert trace.data.spans[0].outputs == [1]  # the items before the error are kept


def test_a_cancelled_async_generator_keeps_its_items_and_is_no_error() -> None:
    """Cancelling the task that consumes a stream (a client gone, a timeout) is not the
    application's error, and the items yielded so far are the valuable part."""

    @evaltrace.trace
    async def tokens():
        yield "Full"
        yield " refunds"
        await asyncio.sleep(10)  # cancelled here
        yield " never"

    async def consume(seen: list) -> None:
        async for token in tokens():
            seen.append(token)

    async def main() -> list:
        seen: list = []
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(consume(seen), timeout=0.2)
        return seen

    assert asyncio.run(main()) == ["Full", " refunds"]
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.outputs == ["Full", " refunds"]
    assert span.attributes["evaltrace.interrupted"] == "CancelledError"
    assert trace.info.state is TraceState.OK


def test_a_clean_system_exit_is_no_error_but_a_failing_one_is() -> None:
    @evaltrace.trace
    def leave(code: int | None) -> None:
        raise SystemExit(code)

    with pytest.raises(SystemExit):
        leave(0)
    assert last_trace().info.state is TraceState.OK
    assert last_trace().data.spans[0].attributes["evaltrace.interrupted"] == "SystemExit"
    with pytest.raises(SystemExit):
        leave(2)
    assert last_trace().info.state is TraceState.ERROR


def test_async_generator_exhausted_and_closed() -> None:
    @evaltrace.trace
    async def agen(n: int):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    async def consume() -> list:
        return [item async for item in agen(3)]

    assert asyncio.run(consume()) == [0, 1, 2]
    assert last_trace().data.spans[0].outputs == [0, 1, 2]

    async def take_one() -> int:
        gen = agen(5)
        first = await gen.__anext__()
        await gen.aclose()
        return first

    assert asyncio.run(take_one()) == 0
    (span,) = last_trace().data.spans
    assert span.outputs == [0]
    assert span.attributes["evaltrace.generator.closed_early"] is True


def test_unserializable_values_are_traced_not_crashed() -> None:
    class NoRepr:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    @dataclasses.dataclass
    class Point:
        x: int
        tags: set

    cycle: list = []
    cycle.append(cycle)

    @evaltrace.trace
    def odd(a, b, c, d):
        return {"nan": float("nan"), "bytes": b"\xff"}

    odd(NoRepr(), Point(1, {"b", "a"}), cycle, {(1, 2): "tuple key"})
    (span,) = last_trace().data.spans
    assert span.inputs == {
        "a": "<unrepresentable NoRepr object>",
        "b": {"x": 1, "tags": ["a", "b"]},
        "c": ["<circular reference>"],
        "d": {"(1, 2)": "tuple key"},
    }
    assert span.outputs == {"nan": "nan", "bytes": "base64:/w=="}


def test_payload_over_the_cap_is_truncated_with_marker() -> None:
    evaltrace.configure(max_payload_chars=100)

    @evaltrace.trace
    def big(text: str) -> int:
        return len(text)

    big("x" * 1000)
    (span,) = last_trace().data.spans
    assert re.fullmatch(
        r"x+\.\.\. \[evaltrace: truncated \d+ of 1000 characters\]", span.inputs["text"]
    )
    assert len(json.dumps(span.inputs)) <= 100


def test_decorating_a_non_callable_is_a_typed_error() -> None:
    with pytest.raises(evaltrace.exceptions.InvalidArgumentError, match="callable"):
        evaltrace.trace(42)  # type: ignore[call-overload]
    with pytest.raises(evaltrace.exceptions.InvalidArgumentError, match="output_reducer"):
        evaltrace.trace(output_reducer="nope")  # type: ignore[arg-type]
