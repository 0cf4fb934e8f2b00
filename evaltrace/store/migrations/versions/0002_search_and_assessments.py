"""Side tables for search: span attributes, and assessments (expectations and feedback).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "span_attributes",
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
    op.create_index("ix_span_attributes_key_text", "span_attributes", ["key", "value_text"])
    op.create_index("ix_span_attributes_key_num", "span_attributes", ["key", "value_num"])
    op.create_table(
        "assessments",
        sa.Column("assessment_id", sa.String(40), primary_key=True),
        sa.Column(
            "trace_id",
            sa.String(64),
            sa.ForeignKey("traces.trace_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("span_id", sa.String(16), nullable=True),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value_json", sa.Text, nullable=True),
        sa.Column("value_type", sa.String(10), nullable=True),
        sa.Column("value_text", sa.String(500), nullable=True),
        sa.Column("value_num", sa.Float, nullable=True),
        sa.Column("rationale", sa.Text, nullable=True),
        sa.Column("source_type", sa.String(20), nullable=False),
        sa.Column("source_id", sa.String(250), nullable=True),
        sa.Column("metadata", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("create_time", sa.BigInteger, nullable=False),
        sa.Column("update_time", sa.BigInteger, nullable=False),
        sa.Column("valid", sa.Boolean, nullable=False),
        sa.Column("overrides", sa.String(40), nullable=True),
    )
    op.create_index("ix_assessments_trace", "assessments", ["trace_id", "kind", "name"])
    op.create_index("ix_assessments_name_text", "assessments", ["kind", "name", "value_text"])


def downgrade() -> None:
    op.drop_table("assessments")
    op.drop_table("span_attributes")
