"""Evaluation datasets with versioned records.

A record revision is live in version v when version_added <= v and (version_removed is NULL
or version_removed > v): every old version stays readable without copying the dataset.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("dataset_id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(500), nullable=False, unique=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=True),
        sa.Column("last_updated_by", sa.String(250), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("schema", sa.Text, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
    )
    op.create_table(
        "dataset_tags",
        sa.Column(
            "dataset_id",
            sa.String(40),
            sa.ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.String(500), nullable=False),
    )
    op.create_index("ix_dataset_tags_key_value", "dataset_tags", ["key", "value"])
    op.create_table(
        "dataset_experiments",
        sa.Column(
            "dataset_id",
            sa.String(40),
            sa.ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("experiment_id", sa.Integer, primary_key=True),
    )
    op.create_table(
        "dataset_versions",
        sa.Column(
            "dataset_id",
            sa.String(40),
            sa.ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=True),
        sa.Column("inserted", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("deleted", sa.Integer, nullable=False),
        sa.Column("record_count", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_table(
        "dataset_records",
        sa.Column("revision_id", sa.String(40), primary_key=True),
        sa.Column(
            "dataset_id",
            sa.String(40),
            sa.ForeignKey("datasets.dataset_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("dataset_record_id", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(250), nullable=False),
        sa.Column("ordinal", sa.BigInteger, nullable=False),
        sa.Column("version_added", sa.Integer, nullable=False),
        sa.Column("version_removed", sa.Integer, nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("outputs", sa.Text, nullable=True),
        sa.Column("expectations", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("source_type", sa.String(20), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(250), nullable=True),
        sa.Column("last_updated_by", sa.String(250), nullable=True),
    )
    op.create_index(
        "ix_dataset_records_live", "dataset_records", ["dataset_id", "version_removed", "record_id"]
    )
    op.create_index("ix_dataset_records_added", "dataset_records", ["dataset_id", "version_added"])


def downgrade() -> None:
    for table in (
        "dataset_records",
        "dataset_versions",
        "dataset_experiments",
        "dataset_tags",
        "datasets",
    ):
        op.drop_table(table)
