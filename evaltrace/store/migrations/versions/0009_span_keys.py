"""Spans get an increasing surrogate key, span_pk; span attributes are keyed by it.

span_attributes was keyed by (trace_id, span_id, key). OTLP trace ids are random, so every
attribute row landed at a random page of two B-trees (the table's key index and, on SQLite,
the rowid table holding the same text again), and a commit rewrote hundreds of pages. Keyed by
(span_pk, key), rows append, and on SQLite the table is its key's B-tree (WITHOUT ROWID).
Existing spans are numbered in their stored order (SQLite: the rowid); the attribute rows are
copied over.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SEQUENCE = "spans_span_pk_seq"  # PostgreSQL: where the store allocates span keys
_KEY_TYPE = sa.BigInteger().with_variant(sa.Integer, "sqlite")
_VALUES = ("key", "value_type", "value_text", "value_num")
_INDEXES = (
    ("ix_span_attributes_key_text", "value_text"),
    ("ix_span_attributes_key_num", "value_num"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE SEQUENCE {SEQUENCE}")
        # The default numbers the existing rows; the store allocates keys itself from then on.
        op.add_column(
            "spans",
            sa.Column(
                "span_pk",
                sa.BigInteger,
                server_default=sa.text(f"nextval('{SEQUENCE}')"),
                nullable=False,
            ),
        )
        op.execute(f"ALTER SEQUENCE {SEQUENCE} OWNED BY spans.span_pk")
    else:
        op.add_column("spans", sa.Column("span_pk", sa.Integer, nullable=True))
        op.execute("UPDATE spans SET span_pk = rowid")
    op.create_index("ix_spans_span_pk", "spans", ["span_pk"], unique=True)
    op.create_table(
        "span_attributes_keyed",
        sa.Column(
            "span_pk",
            _KEY_TYPE,
            sa.ForeignKey("spans.span_pk", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value_type", sa.String(10), nullable=False),
        sa.Column("value_text", sa.String(500), nullable=True),
        sa.Column("value_num", sa.Float, nullable=True),
        sqlite_with_rowid=False,
    )
    values = ", ".join(f"a.{c}" for c in _VALUES)
    op.execute(
        f"INSERT INTO span_attributes_keyed (span_pk, {', '.join(_VALUES)}) "
        f"SELECT s.span_pk, {values} FROM span_attributes a "
        "JOIN spans s ON s.trace_id = a.trace_id AND s.span_id = a.span_id "
        "ORDER BY s.span_pk, a.key"
    )
    op.drop_table("span_attributes")
    op.rename_table("span_attributes_keyed", "span_attributes")
    _create_indexes()


def downgrade() -> None:
    op.create_table(
        "span_attributes_by_trace",
        sa.Column("trace_id", sa.String(64), primary_key=True),
        sa.Column("span_id", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value_type", sa.String(10), nullable=False),
        sa.Column("value_text", sa.String(500), nullable=True),
        sa.Column("value_num", sa.Float, nullable=True),
        sa.ForeignKeyConstraint(
            ["trace_id", "span_id"], ["spans.trace_id", "spans.span_id"], ondelete="CASCADE"
        ),
    )
    values = ", ".join(f"a.{c}" for c in _VALUES)
    op.execute(
        f"INSERT INTO span_attributes_by_trace (trace_id, span_id, {', '.join(_VALUES)}) "
        f"SELECT s.trace_id, s.span_id, {values} FROM span_attributes a "
        "JOIN spans s ON s.span_pk = a.span_pk"
    )
    op.drop_table("span_attributes")
    op.rename_table("span_attributes_by_trace", "span_attributes")
    _create_indexes()
    op.drop_index("ix_spans_span_pk", table_name="spans")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("spans", "span_pk")  # and the sequence it owns
    else:
        op.execute("ALTER TABLE spans DROP COLUMN span_pk")  # no table copy (batch mode would)


def _create_indexes() -> None:
    for name, column in _INDEXES:
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            name, "span_attributes", ["key", column], sqlite_where=where, postgresql_where=where
        )
