"""The capture log: Merkle tree leaves and nodes, signed tree heads, RFC 3161 tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import stablecopy.catalog.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_leaves",
        sa.Column("leaf_index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=True),
        sa.Column("leaf", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
        sa.Column(
            "appended_at", stablecopy.catalog.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("leaf_index", name=op.f("pk_log_leaves")),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["captures.id"], name=op.f("fk_log_leaves_capture_id_captures")
        ),
    )
    op.create_index("ix_log_leaves_kind_subject", "log_leaves", ["kind", "subject"], unique=True)
    op.create_index("ix_log_leaves_capture_id", "log_leaves", ["capture_id"])
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("level", "index", name=op.f("pk_log_nodes")),
    )
    state = op.create_table(
        "log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_state")),
    )
    op.bulk_insert(state, [{"id": 1, "size": 0}])
    op.create_table(
        "tree_heads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("crawl_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tree_heads")),
        sa.ForeignKeyConstraint(
            ["crawl_id"], ["crawls.id"], name=op.f("fk_tree_heads_crawl_id_crawls")
        ),
    )
    op.create_index("ix_tree_heads_tree_size", "tree_heads", ["tree_size"])
    op.create_table(
        "timestamp_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_head_id", sa.Integer(), nullable=False),
        sa.Column("tsa_url", sa.Text(), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("gen_time", stablecopy.catalog.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tsa_name", sa.Text(), nullable=True),
        sa.Column("record_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timestamp_tokens")),
        sa.ForeignKeyConstraint(
            ["tree_head_id"],
            ["tree_heads.id"],
            name=op.f("fk_timestamp_tokens_tree_head_id_tree_heads"),
        ),
    )
    op.create_index("ix_timestamp_tokens_tree_head_id", "timestamp_tokens", ["tree_head_id"])


def downgrade() -> None:
    op.drop_table("timestamp_tokens")
    op.drop_table("tree_heads")
    op.drop_table("log_state")
    op.drop_table("log_nodes")
    op.drop_table("log_leaves")
