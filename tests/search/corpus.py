"""A deterministic random corpus of traces, and random filters rendered as strings."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from evaltrace.entities import (
    AssessmentSource,
    Expectation,
    Feedback,
    Span,
    SpanStatus,
    SpanStatusCode,
    Trace,
    TraceData,
    TraceInfo,
    TraceState,
)
from evaltrace.search.ast import And, Comparison, Key, KeyKind, Not, Op, Or, SpanGroup
from evaltrace.search.unparse import filter_text

NAMES = ["answer", "retrieve", "Chat", "chat_v2", "100%_done"]
ENVS = ["prod", "dev", "Prod", "it's"]
SPAN_TYPES = ["LLM", "CHAIN", "TOOL", "RETRIEVER"]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude", "o'1"]
STRINGS = sorted({*NAMES, *ENVS, *MODELS, "", "a_b", "%", "x\\y", "zzz"})


def corpus(seed: int = 7, count: int = 40) -> list[Trace]:
    rng = random.Random(seed)
    traces = []
    for n in range(count):
        trace_id = f"tr-{rng.getrandbits(128):032x}"
        start = 1_700_000_000_000_000_000 + rng.randrange(0, 10**12)
        spans = []
        for s in range(rng.randint(1, 4)):
            duration = rng.choice([None, rng.randrange(0, 5_000_000)])
            attributes: dict = {}
            if rng.random() < 0.6:
                attributes["model"] = rng.choice(MODELS)
            if rng.random() < 0.5:
                attributes["temperature"] = rng.choice([0, 0.2, 0.7, 1])
            if rng.random() < 0.3:
                attributes["stream"] = rng.choice([True, False])
            if rng.random() < 0.2:
                attributes["stop"] = ["\\n", "END"]
            spans.append(
                Span(
                    trace_id=trace_id,
                    span_id=f"{rng.getrandbits(64):016x}",
                    parent_id=None if s == 0 else spans[0].span_id,
                    name=rng.choice(NAMES),
                    span_type=rng.choice(SPAN_TYPES),
                    start_time_ns=start + s,
                    end_time_ns=None if duration is None else start + s + duration,
                    status=SpanStatus(status_code=rng.choice(list(SpanStatusCode))),
                    attributes=attributes,
                )
            )
        tags = {}
        if rng.random() < 0.7:
            tags["env"] = rng.choice(ENVS)
        if rng.random() < 0.3:
            tags["mlflow.user"] = rng.choice(["ann", "bob"])
        assessments = []
        for name, kind, values in (
            ("correct", Feedback, [True, False, "yes", 1]),
            ("score", Feedback, [0, 0.2, 1, 0.7]),
            ("expected", Expectation, ["gpt-4o", "Chat", {"must": ["x"]}, 500]),
        ):
            for version in range(rng.choice([0, 1, 1, 2])):
                assessments.append(
                    kind(
                        assessment_id=f"a-{rng.getrandbits(64):016x}",
                        trace_id=trace_id,
                        name=name,
                        value=rng.choice(values),
                        source=AssessmentSource(source_type="HUMAN", source_id="t"),
                        create_time_ms=version,
                        last_update_time_ms=version,
                        valid=rng.random() < 0.7,
                    )
                )
        root_status = spans[0].status.status_code
        info = TraceInfo(
            trace_id=trace_id,
            experiment_id="0",
            request_time=start // 1_000_000,
            execution_duration=rng.choice([None, rng.randrange(0, 3000)]),
            state=TraceState.ERROR
            if root_status is SpanStatusCode.ERROR
            else rng.choice([TraceState.OK, TraceState.IN_PROGRESS]),
            client_request_id=rng.choice([None, f"req-{n % 5}"]),
            tags=tags,
            trace_metadata={"user": rng.choice(["u1", "u2"])} if rng.random() < 0.5 else {},
            assessments=tuple(assessments),
        )
        traces.append(Trace(info=info, data=TraceData(spans=tuple(spans))))
    return traces


# -- random filters ------------------------------------------------------------------------

_STRING_OPS = [
    Op.EQ,
    Op.NE,
    Op.LT,
    Op.GE,
    Op.LIKE,
    Op.ILIKE,
    Op.IN,
    Op.NOT_IN,
    Op.IS_NULL,
    Op.IS_NOT_NULL,
]
_NUMBER_OPS = [
    Op.EQ,
    Op.NE,
    Op.LT,
    Op.LE,
    Op.GT,
    Op.GE,
    Op.IN,
    Op.NOT_IN,
    Op.IS_NULL,
    Op.IS_NOT_NULL,
]
_ENUM_OPS = [Op.EQ, Op.NE, Op.IN, Op.NOT_IN]
_patterns = st.sampled_from(["%", "gpt%", "%o%", "_hat", "Chat", "%\\%%", "%\\_%", "pro_", "%END%"])
_strings = st.sampled_from(STRINGS)
_numbers = st.sampled_from([0, 0.2, 1, 500, 2_500_000, -1, 1_700_000_500_000])


def _comparison(key: Key, ops: list[Op], values: st.SearchStrategy) -> st.SearchStrategy:
    def build(op: Op, draw_value: object, many: list) -> Comparison:
        if op in (Op.IS_NULL, Op.IS_NOT_NULL):
            return Comparison(key, op, None)
        if op in (Op.IN, Op.NOT_IN):
            return Comparison(key, op, tuple(many))
        return Comparison(key, op, draw_value)

    return st.sampled_from(ops).flatmap(
        lambda op: st.builds(
            build,
            st.just(op),
            _patterns if op in (Op.LIKE, Op.ILIKE) else values,
            st.lists(values, min_size=1, max_size=3),
        )
    )


def _json_values() -> st.SearchStrategy:
    return st.one_of(_strings, _numbers, st.booleans())


def _json_comparison(key: Key) -> st.SearchStrategy:
    def build(op: Op, value: object, many: list, pattern: str) -> Comparison:
        if op in (Op.IS_NULL, Op.IS_NOT_NULL):
            return Comparison(key, op, None)
        if op in (Op.IN, Op.NOT_IN):
            return Comparison(key, op, tuple(many))
        if op in (Op.LIKE, Op.ILIKE):
            return Comparison(key, op, pattern)
        if op not in (Op.EQ, Op.NE) and isinstance(value, bool):
            return Comparison(key, Op.EQ, value)
        return Comparison(key, op, value)

    return st.builds(
        build,
        st.sampled_from(list(Op)),
        _json_values(),
        st.lists(_json_values(), min_size=1, max_size=3),
        _patterns,
    )


def trace_comparisons() -> st.SearchStrategy:
    a = KeyKind.ATTRIBUTE
    return st.one_of(
        _comparison(Key(a, "name"), _STRING_OPS, st.sampled_from(NAMES)),
        _comparison(Key(a, "status"), _ENUM_OPS, st.sampled_from(["OK", "ERROR", "IN_PROGRESS"])),
        _comparison(Key(a, "timestamp_ms"), _NUMBER_OPS, _numbers),
        _comparison(Key(a, "execution_time_ms"), _NUMBER_OPS, st.sampled_from([0, 1000, 2999])),
        _comparison(
            Key(a, "client_request_id"), _STRING_OPS, st.sampled_from(["req-1", "req-3", "x"])
        ),
        _comparison(Key(KeyKind.TAG, "env"), _STRING_OPS, st.sampled_from(ENVS)),
        _comparison(Key(KeyKind.TAG, "mlflow.user"), _STRING_OPS, st.sampled_from(["ann", "bob"])),
        _comparison(Key(KeyKind.METADATA, "user"), _STRING_OPS, st.sampled_from(["u1", "u2"])),
    )


def span_comparisons() -> st.SearchStrategy:
    s = KeyKind.SPAN
    return st.one_of(
        _comparison(Key(s, "name"), _STRING_OPS, st.sampled_from(NAMES)),
        _comparison(Key(s, "type"), _STRING_OPS, st.sampled_from(SPAN_TYPES)),
        _comparison(Key(s, "status"), _ENUM_OPS, st.sampled_from(["OK", "ERROR", "UNSET"])),
        _comparison(Key(s, "duration_ns"), _NUMBER_OPS, st.sampled_from([0, 1_000_000, 4_000_000])),
        _json_comparison(Key(KeyKind.SPAN_ATTRIBUTE, "model")),
        _json_comparison(Key(KeyKind.SPAN_ATTRIBUTE, "temperature")),
        _json_comparison(Key(KeyKind.SPAN_ATTRIBUTE, "stream")),
        _json_comparison(Key(KeyKind.SPAN_ATTRIBUTE, "stop")),
    )


def _boolean(leaves: st.SearchStrategy, depth: int = 3) -> st.SearchStrategy:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda xs: And(tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
            st.builds(lambda xs: Or(tuple(xs)), st.lists(inner, min_size=2, max_size=3)),
            st.builds(Not, inner),
        ),
        max_leaves=depth * 2,
    )


def assessment_comparisons() -> st.SearchStrategy:
    return st.one_of(
        _json_comparison(Key(KeyKind.FEEDBACK, "correct")),
        _json_comparison(Key(KeyKind.FEEDBACK, "score")),
        _json_comparison(Key(KeyKind.EXPECTATION, "expected")),
    )


def filters() -> st.SearchStrategy:
    leaves = st.one_of(
        trace_comparisons(),
        st.builds(SpanGroup, _boolean(span_comparisons(), depth=2)),
        assessment_comparisons(),
    )
    return _boolean(leaves)


# -- rendering an AST back to a filter string: the library's own (search/unparse.py) -------

render = filter_text
