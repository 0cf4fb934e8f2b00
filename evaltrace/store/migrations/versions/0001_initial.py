"""Experiments, traces with tags and metadata, spans.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _key_value_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column(
            "trace_id",
            sa.String(64),
            sa.ForeignKey("traces.trace_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.String(500), nullable=False),
    )
    op.create_index(f"ix_{name}_key_value", name, ["key", "value"])


def upgrade() -> None:
    experiments = op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(500), nullable=False, unique=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(
        experiments,
        [{"experiment_id": 0, "name": "Default", "creation_time": int(time.time() * 1000)}],
    )
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(64), primary_key=True),
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(500), nullable=True),
        sa.Column("client_request_id", sa.String(500), nullable=True),
        sa.Column("request_time", sa.BigInteger, nullable=False),
        sa.Column("start_time_ns", sa.BigInteger, nullable=False),
        sa.Column("execution_duration", sa.BigInteger, nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("request_preview", sa.Text, nullable=True),
        sa.Column("response_preview", sa.Text, nullable=True),
    )
    op.create_index(
        "ix_traces_experiment_start", "traces", ["experiment_id", "start_time_ns", "trace_id"]
    )
    op.create_index("ix_traces_name", "traces", ["name"])
    op.create_index("ix_traces_client_request_id", "traces", ["client_request_id"])
    _key_value_table("trace_tags")
    _key_value_table("trace_metadata")
    op.create_table(
        "spans",
        sa.Column(
            "trace_id",
            sa.String(64),
            sa.ForeignKey("traces.trace_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("span_id", sa.String(16), primary_key=True),
        sa.Column("parent_id", sa.String(16), nullable=True),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("span_type", sa.String(100), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("status_message", sa.Text, nullable=True),
        sa.Column("start_time_ns", sa.BigInteger, nullable=False),
        sa.Column("end_time_ns", sa.BigInteger, nullable=True),
        sa.Column("duration_ns", sa.BigInteger, nullable=True),
        sa.Column("inputs", sa.Text, nullable=True),
        sa.Column("outputs", sa.Text, nullable=True),
        sa.Column("attributes", sa.Text, nullable=True),
        sa.Column("events", sa.Text, nullable=True),
    )
    op.create_index("ix_spans_name", "spans", ["name"])
    op.create_index("ix_spans_type_duration", "spans", ["span_type", "duration_ns"])


def downgrade() -> None:
    for table in ("spans", "trace_metadata", "trace_tags", "traces", "experiments"):
        op.drop_table(table)
