"""WARC files in object storage: where each finished file was uploaded, and when

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import stablecopy.catalog.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("warc_files") as batch:
        batch.add_column(sa.Column("store_uri", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                "stored_at", stablecopy.catalog.types.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("warc_files") as batch:
        batch.drop_column("stored_at")
        batch.drop_column("store_uri")
