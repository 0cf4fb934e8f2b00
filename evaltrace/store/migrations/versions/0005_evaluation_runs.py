"""Evaluation runs and their per-record results.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evaluation_runs",
        sa.Column("run_id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("model_id", sa.String(500), nullable=True),
        sa.Column("dataset_id", sa.String(40), nullable=True),
        sa.Column("dataset_version", sa.Integer, nullable=True),
        sa.Column("dataset_digest", sa.String(64), nullable=True),
        sa.Column("row_count", sa.Integer, nullable=False),
        sa.Column("scorers", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=False),
        sa.Column("start_time", sa.BigInteger, nullable=False),
        sa.Column("end_time", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_evaluation_runs_experiment", "evaluation_runs", ["experiment_id", "start_time"]
    )
    op.create_table(
        "evaluation_results",
        sa.Column(
            "run_id",
            sa.String(40),
            sa.ForeignKey("evaluation_runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("row_index", sa.Integer, primary_key=True),
        sa.Column("record_key", sa.String(250), nullable=False),
        sa.Column("trace_id", sa.String(64), nullable=True),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("outputs", sa.Text, nullable=True),
        sa.Column("expectations", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("scores", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("evaluation_results")
    op.drop_table("evaluation_runs")
