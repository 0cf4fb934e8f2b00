"""Experiments get a lifecycle (deleted ones are kept, hidden, restorable), a last update
time, and tags.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("experiments") as batch:
        batch.add_column(
            sa.Column("lifecycle_stage", sa.String(16), nullable=False, server_default="active")
        )
        batch.add_column(sa.Column("last_update_time", sa.BigInteger, nullable=True))
    op.create_table(
        "experiment_tags",
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(500), primary_key=True),  # MAX_NAME_CHARS
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("experiment_tags")
    op.drop_column("experiments", "last_update_time")
    op.drop_column("experiments", "lifecycle_stage")
