"""Span attribute indexes cover only the rows that hold a value of their kind.

An attribute holds either text (strings, booleans, JSON) or a number, never both, so each of
the two search indexes carried a NULL entry for every row of the other kind: two index inserts
per attribute where one does. Searches compare the indexed column with a value, which implies
it is not NULL, so both SQLite and PostgreSQL still use them.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_span_attributes_key_text", "value_text"),
    ("ix_span_attributes_key_num", "value_num"),
)


def upgrade() -> None:
    for name, column in _INDEXES:
        op.drop_index(name, table_name="span_attributes")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            name,
            "span_attributes",
            ["key", column],
            sqlite_where=where,
            postgresql_where=where,
        )


def downgrade() -> None:
    for name, column in _INDEXES:
        op.drop_index(name, table_name="span_attributes")
        op.create_index(name, "span_attributes", ["key", column])
