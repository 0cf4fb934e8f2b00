"""The prompt registry: prompts, their immutable versions, version tags, aliases.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_NAME = sa.String(500)  # MAX_NAME_CHARS


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("name", _NAME, primary_key=True),
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "prompt_tags",
        sa.Column(
            "name", _NAME, sa.ForeignKey("prompts.name", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("key", _NAME, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "prompt_versions",
        sa.Column(
            "name", _NAME, sa.ForeignKey("prompts.name", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("template", sa.Text, nullable=False),  # JSON: a string or a message list
        sa.Column("commit_message", sa.Text, nullable=True),
        sa.Column("response_format", sa.Text, nullable=True),  # JSON
        sa.Column("model_config", sa.Text, nullable=True),  # JSON
        sa.Column("created_time", sa.BigInteger, nullable=False),
        sa.Column("created_by", _NAME, nullable=True),
    )
    op.create_table(
        "prompt_version_tags",
        sa.Column("name", _NAME, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("key", _NAME, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["name", "version"],
            ["prompt_versions.name", "prompt_versions.version"],
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "prompt_aliases",
        sa.Column(
            "name", _NAME, sa.ForeignKey("prompts.name", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("alias", _NAME, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("prompt_aliases", "prompt_version_tags", "prompt_versions", "prompt_tags"):
        op.drop_table(table)
    op.drop_table("prompts")
