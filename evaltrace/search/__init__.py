"""The filter language of search_traces: parsed into a frozen AST, never into SQL text."""

from evaltrace.search.ast import And, Comparison, Expr, Key, KeyKind, Not, Op, Or, SpanGroup
from evaltrace.search.keys import DATASETS, TRACES, Catalogue
from evaltrace.search.order import OrderKey, parse_order_by
from evaltrace.search.parser import parse_filter

__all__ = [
    "DATASETS",
    "TRACES",
    "And",
    "Catalogue",
    "Comparison",
    "Expr",
    "Key",
    "KeyKind",
    "Not",
    "Op",
    "Or",
    "OrderKey",
    "SpanGroup",
    "parse_filter",
    "parse_order_by",
]
