"""Trace sampling (EVALTRACE_TRACE_SAMPLING_RATIO): a trace is kept or left out whole."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import openai
import pytest

import evaltrace
import evaltrace.openai
from evaltrace.exceptions import InvalidArgumentError
from evaltrace.testing import OpenAIServer


@evaltrace.trace
def retrieve(question: str) -> list[str]:
    with evaltrace.start_span("rank") as span:
        span.set_inputs({"question": question})
    return ["doc"]


@evaltrace.trace
def answer(question: str) -> str:
    retrieve(question)
    evaltrace.update_current_trace(tags={"kind": "answer"})  # silent when sampled out
    return "yes"


def stored() -> list[evaltrace.Trace]:
    evaltrace.flush()
    return evaltrace.search_traces(return_type="list", max_results=10_000)


def test_ratio_zero_records_no_trace_and_no_child_becomes_a_root() -> None:
    evaltrace.configure(trace_sampling_ratio=0.0)
    with evaltrace.start_span("block"):
        answer("a")
    assert [answer(str(i)) for i in range(20)] == ["yes"] * 20
    assert stored() == []
    assert evaltrace.get_last_active_trace_id() is None


def test_a_sampled_share_keeps_whole_traces(caplog: pytest.LogCaptureFixture) -> None:
    evaltrace.configure(trace_sampling_ratio=0.5)
    for i in range(400):
        answer(str(i))
    traces = stored()
    # Binomial(400, 0.5): 200 +- 10; outside 130..270 is a 7-sigma event.
    assert 130 <= len(traces) <= 270
    for trace in traces:
        assert [s.name for s in trace.data.spans] == ["answer", "retrieve", "rank"]
        assert trace.info.tags["kind"] == "answer"
    assert "outside of a trace" not in caplog.text


def test_a_trace_left_out_stays_out_when_the_ratio_rises_midway() -> None:
    evaltrace.configure(trace_sampling_ratio=0.0)

    @evaltrace.trace
    def outer() -> str:
        evaltrace.configure(trace_sampling_ratio=1.0)
        return answer("inner")  # a child of the left-out root: not a trace of its own

    assert outer() == "yes"
    assert stored() == []
    answer("next")  # a new root, drawn at the new ratio
    assert [t.data.spans[0].name for t in stored()] == ["answer"]


def test_generators_and_coroutines_run_unchanged_when_sampled_out() -> None:
    evaltrace.configure(trace_sampling_ratio=0.0)

    @evaltrace.trace
    def numbers() -> Iterator[int]:
        yield from range(3)

    @evaltrace.trace
    async def double(x: int) -> int:
        return 2 * x

    @evaltrace.trace
    def fails() -> None:
        raise KeyError("mine")

    assert list(numbers()) == [0, 1, 2]
    assert asyncio.run(double(4)) == 8
    with pytest.raises(KeyError, match="mine"):
        fails()
    assert stored() == []


def test_autologged_calls_follow_the_root() -> None:
    evaltrace.openai.autolog()
    try:
        with (
            OpenAIServer() as server,
            openai.OpenAI(base_url=server.base_url, api_key="sk-x", max_retries=0) as client,
        ):

            @evaltrace.trace
            def ask() -> str | None:
                reply = client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "hi"}]
                )
                return reply.choices[0].message.content

            evaltrace.configure(trace_sampling_ratio=0.0)
            assert ask() == "You said: hi"
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
            assert stored() == []
            evaltrace.configure(trace_sampling_ratio=1.0)
            ask()
            (trace,) = stored()
            assert [s.name for s in trace.data.spans] == ["ask", "openai.chat.completions"]
    finally:
        evaltrace.openai.autolog(disable=True)


@pytest.mark.parametrize("bad", [1.5, -0.1, "half", True])
def test_a_ratio_outside_zero_to_one_is_refused(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="trace_sampling_ratio"):
        evaltrace.configure(trace_sampling_ratio=bad)  # type: ignore[arg-type]
    assert evaltrace.configure().trace_sampling_ratio == 1.0


def test_the_ratio_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALTRACE_TRACE_SAMPLING_RATIO", "0")
    session = evaltrace.Session()
    try:
        assert session.settings.trace_sampling_ratio == 0.0
    finally:
        session.close()
    monkeypatch.setenv("EVALTRACE_TRACE_SAMPLING_RATIO", "2")
    with pytest.raises(InvalidArgumentError, match="EVALTRACE_TRACE_SAMPLING_RATIO must be at"):
        _ = evaltrace.Session().settings
