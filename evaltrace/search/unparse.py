"""A parsed filter written back as filter text: ``parse_filter(filter_text(expr)) == expr`` for
what the parser makes. The server re-reads filters sent over HTTP through it, so a filter it
runs has always passed the parser's checks."""

from __future__ import annotations

from evaltrace.search.ast import And, Expr, Not, Op, Or, SpanGroup

__all__ = ["filter_text", "literal_text"]


def filter_text(expr: Expr) -> str:
    if isinstance(expr, And):
        return " AND ".join(f"({filter_text(item)})" for item in expr.items)
    if isinstance(expr, Or):
        return " OR ".join(f"({filter_text(item)})" for item in expr.items)
    if isinstance(expr, Not):
        return f"NOT ({filter_text(expr.item)})"
    if isinstance(expr, SpanGroup):
        return f"span({filter_text(expr.condition)})"
    key = str(expr.key)
    if expr.op in (Op.IS_NULL, Op.IS_NOT_NULL):
        return f"{key} {expr.op.value}"
    if expr.op in (Op.IN, Op.NOT_IN):
        values = expr.value if isinstance(expr.value, tuple) else (expr.value,)
        return f"{key} {expr.op.value} ({', '.join(literal_text(v) for v in values)})"
    return f"{key} {expr.op.value} {literal_text(expr.value)}"


def literal_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"
