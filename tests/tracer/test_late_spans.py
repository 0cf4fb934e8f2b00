"""Spans that end after their root are stored with their trace; a forked child starts clean."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

import evaltrace
from evaltrace._session import get_session
from evaltrace.exceptions import TraceNotFoundError
from tests.forking import traced_in_forked_child


def stored(trace_id: str | None) -> evaltrace.Trace:
    assert trace_id is not None
    return evaltrace.get_trace(trace_id)


def names(trace: evaltrace.Trace) -> list[str]:
    return [span.name for span in trace.data.spans]


def test_a_fire_and_forget_task_is_appended_to_its_trace() -> None:
    @evaltrace.trace
    async def audit(request: str) -> str:
        await asyncio.sleep(0.05)
        return f"audited {request}"

    @evaltrace.trace
    async def handle(request: str) -> str:
        background.append(asyncio.get_running_loop().create_task(audit(request)))
        return "done"

    background: list[asyncio.Task[str]] = []

    async def main() -> None:
        await handle("r1")
        assert evaltrace.flush(timeout=30)  # the trace is stored before its child ends
        await asyncio.gather(*background)

    asyncio.run(main())
    trace = stored(evaltrace.get_last_active_trace_id())
    assert names(trace) == ["handle", "audit"]
    audit_span = trace.data.spans[1]
    assert audit_span.parent_id == trace.data.spans[0].span_id
    assert audit_span.outputs == "audited r1"


def test_a_thread_finishing_after_the_request_is_appended() -> None:
    release = threading.Event()

    @evaltrace.trace
    def slow_tool() -> int:
        release.wait(10)
        return 7

    @evaltrace.trace
    def handle() -> str:
        worker = threading.Thread(target=evaltrace.with_current_context(slow_tool))
        worker.start()
        threads.append(worker)
        return "answered"

    threads: list[threading.Thread] = []
    handle()
    trace_id = evaltrace.get_last_active_trace_id()
    assert names(stored(trace_id)) == ["handle"]
    release.set()
    threads[0].join()
    assert names(stored(trace_id)) == ["handle", "slow_tool"]


def test_a_child_generator_left_open_is_appended_when_it_ends() -> None:
    @evaltrace.trace
    def numbers() -> Iterator[int]:
        yield from range(3)

    @evaltrace.trace
    def handle() -> tuple[int, Iterator[int]]:
        stream = numbers()
        return next(stream), stream  # started here, left open for the caller

    first, stream = handle()
    trace_id = evaltrace.get_last_active_trace_id()
    assert [first, *stream] == [0, 1, 2]
    trace = stored(trace_id)
    assert names(trace) == ["handle", "numbers"]
    assert trace.data.spans[1].outputs == [0, 1, 2]


def test_a_late_span_s_token_usage_is_added_to_the_trace_summary() -> None:
    usage = {"gen_ai.usage.input_tokens": 5, "gen_ai.usage.output_tokens": 2}
    done = threading.Event()

    def late_llm_call() -> None:
        with evaltrace.start_span("llm", span_type="LLM", attributes=usage):
            done.wait(10)

    with evaltrace.start_span("request", attributes={"gen_ai.usage.input_tokens": 10}):
        worker = threading.Thread(target=evaltrace.with_current_context(late_llm_call))
        worker.start()
    trace_id = evaltrace.get_last_active_trace_id()
    assert stored(trace_id).info.token_usage == {"input_tokens": 10, "total_tokens": 10}
    done.set()
    worker.join()
    trace = stored(trace_id)
    assert trace.info.token_usage == {"input_tokens": 15, "output_tokens": 2, "total_tokens": 17}
    assert evaltrace.search_traces(filter_string="attributes.total_tokens = 17", return_type="list")


def test_appending_spans_is_idempotent_and_needs_a_stored_trace(store_uri: str) -> None:
    with evaltrace.start_span("root"):
        pass
    trace = stored(evaltrace.get_last_active_trace_id())
    store = get_session().store(store_uri)
    (root,) = trace.data.spans
    from dataclasses import replace

    child = replace(
        root,
        span_id="00000000000000aa",
        parent_id=root.span_id,
        name="late",
        start_time_ns=root.start_time_ns + 1,
    )
    store.append_spans([child])
    store.append_spans([child])  # an exporter's retry
    assert names(store.get_trace(trace.info.trace_id)) == ["root", "late"]
    stranger = replace(child, trace_id="tr-" + "f" * 32, span_id="00000000000000bb")
    with pytest.raises(TraceNotFoundError, match="not stored"):
        store.append_spans([replace(child, span_id="00000000000000cc"), stranger])
    assert names(store.get_trace(trace.info.trace_id)) == ["root", "late"]  # nothing written


def test_a_forked_child_does_not_continue_the_parent_s_open_trace() -> None:
    @evaltrace.trace
    def child_work(i: int) -> int:
        return i

    with evaltrace.start_span("parent_request"):
        assert traced_in_forked_child(lambda: child_work(1))
    parent = stored(evaltrace.get_last_active_trace_id())
    assert names(parent) == ["parent_request"]  # the child's span did not merge into it
    traces = evaltrace.search_traces(return_type="list")
    (child,) = [t for t in traces if t.info.trace_id != parent.info.trace_id]
    assert names(child) == ["child_work"]
    assert child.data.spans[0].parent_id is None
