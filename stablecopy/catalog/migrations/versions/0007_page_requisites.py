"""Page requisites: what each archived document needs to render, and captures fetched as requisites

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: no table copy, however many captures the catalogue holds.
    op.add_column("captures", sa.Column("requisite", sa.String(16), nullable=True))
    op.create_table(
        "requisites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crawl_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column(
            "url_key", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("skipped", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requisites")),
        sa.ForeignKeyConstraint(
            ["crawl_id"], ["crawls.id"], name=op.f("fk_requisites_crawl_id_crawls")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["captures.id"], name=op.f("fk_requisites_parent_id_captures")
        ),
    )
    op.create_index("ix_requisites_parent_id", "requisites", ["parent_id"])
    op.create_index("ix_requisites_url_key", "requisites", ["url_key"])


def downgrade() -> None:
    op.drop_index("ix_requisites_url_key", "requisites")
    op.drop_index("ix_requisites_parent_id", "requisites")
    op.drop_table("requisites")
    with op.batch_alter_table("captures") as batch:
        batch.drop_column("requisite")
