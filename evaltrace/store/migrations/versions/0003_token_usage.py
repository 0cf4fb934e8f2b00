"""A trace's token usage and estimated cost, summed over its LLM spans (searchable columns).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = ("input_tokens", "output_tokens", "total_tokens")


def upgrade() -> None:
    with op.batch_alter_table("traces") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("cost_usd", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("traces") as batch:
        for name in (*_COLUMNS, "cost_usd"):
            batch.drop_column(name)
