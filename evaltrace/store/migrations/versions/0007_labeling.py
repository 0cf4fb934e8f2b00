"""Labeling sessions: label schemas, sessions, their items (traces) and reviews (claims, labels).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_schemas",
        sa.Column("name", sa.String(250), primary_key=True),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "labeling_sessions",
        sa.Column("session_id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("assigned_users", sa.Text, nullable=False),
        sa.Column("label_schemas", sa.Text, nullable=False),
        sa.Column("labels_per_item", sa.Integer, nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=True),
    )
    op.create_table(
        "labeling_items",
        sa.Column("item_id", sa.String(40), primary_key=True),
        sa.Column(
            "session_id",
            sa.String(40),
            sa.ForeignKey("labeling_sessions.session_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "trace_id",
            sa.String(64),
            sa.ForeignKey("traces.trace_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ordinal", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("labeled_count", sa.Integer, nullable=False),
        sa.UniqueConstraint("session_id", "trace_id", name="uq_labeling_items_session_trace"),
    )
    op.create_index(
        "ix_labeling_items_session_ordinal", "labeling_items", ["session_id", "ordinal"]
    )
    op.create_table(
        "labeling_reviews",
        sa.Column(
            "item_id",
            sa.String(40),
            sa.ForeignKey("labeling_items.item_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("reviewer", sa.String(250), primary_key=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("claimed_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_labeling_reviews_reviewer", "labeling_reviews", ["reviewer", "state"])


def downgrade() -> None:
    op.drop_table("labeling_reviews")
    op.drop_table("labeling_items")
    op.drop_table("labeling_sessions")
    op.drop_table("label_schemas")
