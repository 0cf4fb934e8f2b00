"""A reference evaluator: the filter semantics in plain Python, over Trace objects.

The SQL compiler must agree with it on every filter (tests/search/test_agreement.py).
"""

from __future__ import annotations

import re
from typing import Any

from evaltrace.entities import Span, Trace
from evaltrace.search.ast import And, Comparison, Expr, KeyKind, Not, Op, Or, SpanGroup

_MISSING = object()


def matches(trace: Trace, expr: Expr) -> bool:
    if isinstance(expr, And):
        return all(matches(trace, item) for item in expr.items)
    if isinstance(expr, Or):
        return any(matches(trace, item) for item in expr.items)
    if isinstance(expr, Not):
        return not matches(trace, expr.item)
    if isinstance(expr, SpanGroup):
        return any(span_matches(span, expr.condition) for span in trace.data.spans)
    if expr.key.kind in (KeyKind.EXPECTATION, KeyKind.FEEDBACK):
        return assessment_matches(trace, expr)
    return compare(trace_value(trace, expr), expr, json_value=expr.key.kind in _JSON_KINDS)


def assessment_matches(trace: Trace, comparison: Comparison) -> bool:
    """Several valid assessments may share a name: a condition holds if any of them meets it
    (and its negation, if none does)."""
    kind = "expectation" if comparison.key.kind is KeyKind.EXPECTATION else "feedback"
    values = [
        a.value
        for a in trace.info.assessments
        if a.kind == kind and a.name == comparison.key.name and a.valid
    ]
    op = comparison.op
    if op is Op.IS_NULL:
        return not values
    if op is Op.IS_NOT_NULL:
        return bool(values)
    if op in (Op.NE, Op.NOT_IN):
        positive = Comparison(comparison.key, Op.EQ if op is Op.NE else Op.IN, comparison.value)
        return not assessment_matches(trace, positive)
    return any(compare(value, comparison, json_value=True) for value in values)


_JSON_KINDS = (KeyKind.SPAN_ATTRIBUTE,)


def span_matches(span: Span, expr: Expr) -> bool:
    if isinstance(expr, And):
        return all(span_matches(span, item) for item in expr.items)
    if isinstance(expr, Or):
        return any(span_matches(span, item) for item in expr.items)
    if isinstance(expr, Not):
        return not span_matches(span, expr.item)
    assert isinstance(expr, Comparison)
    if expr.key.kind is KeyKind.SPAN:
        value = {
            "name": span.name,
            "type": span.span_type,
            "status": span.status.status_code.value,
            "duration_ns": span.duration_ns,
        }[expr.key.name]
        return compare(value, expr, json_value=False)
    return compare(span.attributes.get(expr.key.name, _MISSING), expr, json_value=True)


def trace_value(trace: Trace, comparison: Comparison) -> Any:
    key, info = comparison.key, trace.info
    if key.kind is KeyKind.ATTRIBUTE:
        root = trace.data._get_root_span()
        return {
            "name": root.name if root else None,
            "status": info.state.value,
            "timestamp_ms": info.request_time,
            "execution_time_ms": info.execution_duration,
            "trace_id": info.trace_id,
            "client_request_id": info.client_request_id,
            "cost_usd": info.cost_usd,
            **{
                k: (info.token_usage or {}).get(k)
                for k in ("input_tokens", "output_tokens", "total_tokens")
            },
        }[key.name]
    if key.kind is KeyKind.TAG:
        return info.tags.get(key.name, _MISSING)
    assert key.kind is KeyKind.METADATA
    return info.trace_metadata.get(key.name, _MISSING)


def compare(value: Any, comparison: Comparison, *, json_value: bool) -> bool:
    op, literal = comparison.op, comparison.value
    absent = value is _MISSING or (value is None and not json_value)
    if op is Op.IS_NULL:
        return absent
    if op is Op.IS_NOT_NULL:
        return not absent
    if op is Op.NE:
        return not compare(value, Comparison(comparison.key, Op.EQ, literal), json_value=json_value)
    if op is Op.NOT_IN:
        return not compare(value, Comparison(comparison.key, Op.IN, literal), json_value=json_value)
    if absent:
        return False
    if op is Op.IN:
        return any(
            compare(value, Comparison(comparison.key, Op.EQ, item), json_value=json_value)
            for item in literal
        )
    if json_value and not _same_json_type(value, literal, op):
        return False
    if op in (Op.LIKE, Op.ILIKE):
        text = value if isinstance(value, str) else _json_text(value)
        return like(text, literal, insensitive=op is Op.ILIKE)
    if op is Op.EQ:
        return bool(value == literal)
    return bool(
        {
            Op.LT: value < literal,
            Op.LE: value <= literal,
            Op.GT: value > literal,
            Op.GE: value >= literal,
        }[op]
    )


def _same_json_type(value: Any, literal: Any, op: Op) -> bool:
    if isinstance(literal, bool):
        return isinstance(value, bool) and op is Op.EQ
    if isinstance(literal, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if op in (Op.LIKE, Op.ILIKE):
        return isinstance(value, (str, list, dict))
    return isinstance(value, str)


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def like(text: str, pattern: str, *, insensitive: bool) -> bool:
    regex, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            regex.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        regex.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if insensitive else 0)
    return re.fullmatch("".join(regex), text, flags) is not None
