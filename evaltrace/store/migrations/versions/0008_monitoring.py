"""Production monitoring: the trace change feed, registered scorers, the job table.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_NAME = sa.String(250)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # The writing transaction's id on PostgreSQL (see models.trace_changes); 0 on SQLite.
    xid_default = sa.text("(pg_current_xact_id()::text::bigint)") if postgres else sa.text("0")
    op.create_table(
        "trace_changes",
        sa.Column(
            "change_seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
        ),
        sa.Column("commit_xid", sa.BigInteger, nullable=False, server_default=xid_default),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column(
            "trace_id",
            sa.String(64),
            sa.ForeignKey("traces.trace_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_trace_changes_position",
        "trace_changes",
        ["experiment_id", "commit_xid", "change_seq"],
    )
    op.create_index("ix_trace_changes_trace", "trace_changes", ["trace_id"])
    op.create_table(
        "registered_scorers",
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", _NAME, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("sample_rate", sa.Float, nullable=False),
        sa.Column("filter_string", sa.Text, nullable=True),
        sa.Column("max_per_hour", sa.Integer, nullable=True),
        sa.Column("max_concurrency", sa.Integer, nullable=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "scorer_versions",
        sa.Column("experiment_id", sa.Integer, primary_key=True),
        sa.Column("name", _NAME, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id", "name"],
            ["registered_scorers.experiment_id", "registered_scorers.name"],
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "monitor_jobs",
        sa.Column(
            "trace_id",
            sa.String(64),
            sa.ForeignKey("traces.trace_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("scorer_name", _NAME, primary_key=True),
        sa.Column("scorer_version", sa.Integer, primary_key=True),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("trace_time", sa.BigInteger, nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("not_before", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("claim_token", sa.String(40), nullable=True),
        sa.Column("claim_expires", sa.BigInteger, nullable=True),
        sa.Column("finished_time", sa.BigInteger, nullable=True),
        sa.Column("value_num", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_monitor_jobs_queue",
        "monitor_jobs",
        ["experiment_id", "state", "scorer_name", "created_time"],
    )
    op.create_index(
        "ix_monitor_jobs_results", "monitor_jobs", ["experiment_id", "scorer_name", "trace_time"]
    )
    op.create_table(
        "monitor_checkpoints",
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("commit_xid", sa.BigInteger, nullable=False),
        sa.Column("change_seq", sa.BigInteger, nullable=False),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "monitor_leases",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("holder", _NAME, nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "monitor_leases",
        "monitor_checkpoints",
        "monitor_jobs",
        "scorer_versions",
        "registered_scorers",
        "trace_changes",
    ):
        op.drop_table(table)
