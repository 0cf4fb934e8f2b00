"""Compile a filter AST into a SQLAlchemy boolean expression over ``traces``.

Every value is a bound parameter. Every comparison is two-valued (true or false, never SQL
NULL), so ``NOT`` means exactly "the condition does not hold": ``tags.env != 'prod'`` matches
traces without an ``env`` tag, and a missing value fails ``=``, ``<``, ``LIKE`` and ``IN``.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, exists, false, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement as Column

from evaltrace.search.ast import And, Comparison, Expr, KeyKind, Not, Op, Or, SpanGroup
from evaltrace.search.keys import TRACE_FIELDS
from evaltrace.store import models

__all__ = [
    "DATASET_TARGET",
    "EXPERIMENT_TARGET",
    "PROMPT_TARGET",
    "TRACE_TARGET",
    "FilterCompiler",
    "Target",
]

_LIKE_ESCAPE = "\\"
_ORDERINGS = {Op.LT: operator.lt, Op.LE: operator.le, Op.GT: operator.gt, Op.GE: operator.ge}
_TRACE_COLUMNS = {field.key: (field.column, field.nullable) for field in TRACE_FIELDS}
_DATASET_COLUMNS = {
    "name": ("name", False),
    "dataset_id": ("dataset_id", False),
    "created_time": ("created_time", False),
    "last_update_time": ("last_update_time", False),
}


@dataclass(frozen=True)
class Target:
    """What a filter is about: a table, its filterable columns, its key-value side tables."""

    table: Any
    columns: dict[str, tuple[str, bool]]  # canonical key -> (column, nullable)
    side_tables: dict[KeyKind, Any]
    id_column: str


TRACE_TARGET = Target(
    table=models.traces,
    columns=_TRACE_COLUMNS,
    side_tables={KeyKind.TAG: models.trace_tags, KeyKind.METADATA: models.trace_metadata},
    id_column="trace_id",
)
DATASET_TARGET = Target(
    table=models.datasets,
    columns=_DATASET_COLUMNS,
    side_tables={KeyKind.TAG: models.dataset_tags},
    id_column="dataset_id",
)

EXPERIMENT_TARGET = Target(
    table=models.experiments,
    columns={
        "name": ("name", False),
        "creation_time": ("creation_time", False),
        "last_update_time": ("last_update_time", True),
    },
    side_tables={KeyKind.TAG: models.experiment_tags},
    id_column="experiment_id",
)

PROMPT_TARGET = Target(
    table=models.prompts,
    columns={
        "name": ("name", False),
        "creation_time": ("created_time", False),
        "last_update_time": ("last_update_time", False),
    },
    side_tables={KeyKind.TAG: models.prompt_tags},
    id_column="name",
)

_SPAN_COLUMNS = {
    "name": ("name", False),
    "type": ("span_type", False),
    "status": ("status", False),
    "duration_ns": ("duration_ns", True),
}


class FilterCompiler:
    """One per dialect: PostgreSQL compares strings with the C collation, like SQLite."""

    def __init__(self, dialect: str) -> None:
        self.postgres = dialect == "postgresql"

    def compile(self, expr: Expr, target: Target = TRACE_TARGET) -> ColumnElement[bool]:
        self._target = target
        return self._trace_level(expr)

    def narrowing_subqueries(self, expr: Expr, target: Target = TRACE_TARGET) -> list[Any]:
        """For each ``=`` or ``IN`` that every match must satisfy (a top-level conjunct) on a side
        table with a value index: a SELECT of the ids satisfying it, from that index.

        The compiled filter checks side tables per row of ``target`` (EXISTS), which stops
        early when matches are common but reads every row when they are rare. ``id IN
        (subquery)`` next to it starts from the index instead: the store adds it when a probe
        finds the value rare. It is implied by the conjunct, so results never change.
        """
        self._target = target
        subqueries = []
        for item in expr.items if isinstance(expr, And) else (expr,):
            in_span = isinstance(item, SpanGroup)
            condition = item.condition if isinstance(item, SpanGroup) else item
            for comparison in condition.items if isinstance(condition, And) else (condition,):
                if not isinstance(comparison, Comparison) or comparison.op not in (Op.EQ, Op.IN):
                    continue
                kind, name = comparison.key.kind, comparison.key.name
                if in_span and kind is KeyKind.SPAN_ATTRIBUTE:
                    a, s = models.span_attributes, models.spans
                    where = self._json_value(a, comparison)
                    subqueries.append(
                        select(s.c.trace_id)
                        .select_from(a.join(s, s.c.span_pk == a.c.span_pk))
                        .where(a.c.key == name, where)
                    )
                elif not in_span and kind in target.side_tables:
                    side = target.side_tables[kind]
                    where = self._column(side.c.value, comparison, False)
                    subqueries.append(
                        select(side.c[target.id_column]).where(side.c.key == name, where)
                    )
        return subqueries

    # -- trace level --------------------------------------------------------------------------

    def _trace_level(self, expr: Expr) -> ColumnElement[bool]:
        if isinstance(expr, And):
            return and_(*(self._trace_level(item) for item in expr.items))
        if isinstance(expr, Or):
            return or_(*(self._trace_level(item) for item in expr.items))
        if isinstance(expr, Not):
            return not_(self._trace_level(expr.item))
        if isinstance(expr, SpanGroup):
            s = models.spans
            return exists(
                select(1).where(
                    s.c.trace_id == models.traces.c.trace_id, self._span_level(expr.condition)
                )
            )
        return self._trace_comparison(expr)

    def _trace_comparison(self, comparison: Comparison) -> ColumnElement[bool]:
        key, target = comparison.key, self._target
        t = target.table
        if key.kind is KeyKind.ATTRIBUTE:
            name, nullable = target.columns[key.name]
            return self._column(t.c[name], comparison, nullable)
        if key.kind in target.side_tables:
            table = target.side_tables[key.kind]
            own_id = table.c[target.id_column] == t.c[target.id_column]
            return self._side_row(
                table,
                [own_id, table.c.key == key.name],
                comparison,
                lambda c: self._column(table.c.value, c, False),
            )
        a = models.assessments
        kind = "expectation" if key.kind is KeyKind.EXPECTATION else "feedback"
        return self._side_row(
            a,
            [a.c.trace_id == t.c.trace_id, a.c.kind == kind, a.c.name == key.name, a.c.valid],
            comparison,
            lambda c: self._json_value(a, c),
        )

    # -- span level ---------------------------------------------------------------------------

    def _span_level(self, expr: Expr) -> ColumnElement[bool]:
        if isinstance(expr, And):
            return and_(*(self._span_level(item) for item in expr.items))
        if isinstance(expr, Or):
            return or_(*(self._span_level(item) for item in expr.items))
        if isinstance(expr, Not):
            return not_(self._span_level(expr.item))
        assert isinstance(expr, Comparison)
        s = models.spans
        if expr.key.kind is KeyKind.SPAN:
            name, nullable = _SPAN_COLUMNS[expr.key.name]
            return self._column(s.c[name], expr, nullable)
        a = models.span_attributes
        return self._side_row(
            a,
            [a.c.span_pk == s.c.span_pk, a.c.key == expr.key.name],
            expr,
            lambda c: self._json_value(a, c),
        )

    # -- comparisons --------------------------------------------------------------------------

    def _side_row(
        self, table: Any, match_key: list[Any], comparison: Comparison, value_condition: Any
    ) -> ColumnElement[bool]:
        """A condition on the row of a side table that holds the key (absent: no value)."""
        op = comparison.op
        if op is Op.IS_NULL:
            return not_(exists(select(1).select_from(table).where(*match_key)))
        if op is Op.IS_NOT_NULL:
            return exists(select(1).select_from(table).where(*match_key))
        if op in (Op.NE, Op.NOT_IN):
            positive = Comparison(comparison.key, Op.EQ if op is Op.NE else Op.IN, comparison.value)
            return not_(self._side_row(table, match_key, positive, value_condition))
        return exists(select(1).select_from(table).where(*match_key, value_condition(comparison)))

    def _column(
        self, column: Column[Any], comparison: Comparison, nullable: bool
    ) -> ColumnElement[bool]:
        op, value = comparison.op, comparison.value
        if op is Op.IS_NULL:
            return column.is_(None) if nullable else false()
        if op is Op.IS_NOT_NULL:
            return column.is_not(None) if nullable else true()
        if op in (Op.NE, Op.NOT_IN):
            positive = Comparison(comparison.key, Op.EQ if op is Op.NE else Op.IN, value)
            return not_(self._column(column, positive, nullable))
        condition = self._compare(column, op, value)
        return and_(column.is_not(None), condition) if nullable else condition

    def _compare(self, column: Column[Any], op: Op, value: Any) -> ColumnElement[bool]:
        if isinstance(value, str) and op in (Op.LT, Op.LE, Op.GT, Op.GE) and self.postgres:
            column = column.collate("C")
        if op is Op.EQ:
            return cast("ColumnElement[bool]", column == value)
        if op is Op.IN:
            return column.in_(list(value))
        ordering = _ORDERINGS.get(op)
        if ordering is not None:
            return cast("ColumnElement[bool]", ordering(column, value))
        if op is Op.LIKE:
            return column.like(value, escape=_LIKE_ESCAPE)
        if op is Op.ILIKE:
            return column.ilike(value, escape=_LIKE_ESCAPE)
        raise AssertionError(f"unhandled comparator {op}")  # pragma: no cover

    def _json_value(self, table: Any, comparison: Comparison) -> ColumnElement[bool]:
        """A JSON value compared with a literal of the same JSON type (see rows.scalar_view)."""
        op, value = comparison.op, comparison.value
        if op is Op.IN:
            return or_(
                *(
                    self._json_value(table, Comparison(comparison.key, Op.EQ, v))
                    for v in cast("tuple[Any, ...]", value)
                )
            )
        c = table.c
        if isinstance(value, bool):
            if op is not Op.EQ:
                return false()  # true/false are not ordered
            return and_(c.value_type == "bool", c.value_text == ("true" if value else "false"))
        if isinstance(value, (int, float)):
            return and_(c.value_type == "num", self._compare(c.value_num, op, value))
        if op in (Op.LIKE, Op.ILIKE):
            return and_(c.value_type.in_(["str", "json"]), self._compare(c.value_text, op, value))
        return and_(c.value_type == "str", self._compare(c.value_text, op, value))
