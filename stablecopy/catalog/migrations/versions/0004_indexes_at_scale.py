"""indexes at scale: partial digest index, BRIN on fetch time (PostgreSQL), failures by URL

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RESPONSES = sa.text("record_type = 'response'")


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    op.drop_index("ix_captures_payload_sha256", table_name="captures")
    op.create_index(
        "ix_captures_payload_sha256_responses", "captures", ["payload_sha256"],
        sqlite_where=RESPONSES, postgresql_where=RESPONSES,
    )  # fmt: skip
    if _postgresql():
        op.drop_index("ix_captures_fetched_at", table_name="captures")
        op.create_index(
            "ix_captures_fetched_at", "captures", ["fetched_at"], postgresql_using="brin"
        )
    op.create_index("ix_fetch_failures_url", "fetch_failures", ["url"], postgresql_using="hash")


def downgrade() -> None:
    op.drop_index("ix_fetch_failures_url", table_name="fetch_failures")
    if _postgresql():
        op.drop_index("ix_captures_fetched_at", table_name="captures")
        op.create_index("ix_captures_fetched_at", "captures", ["fetched_at"])
    op.drop_index("ix_captures_payload_sha256_responses", table_name="captures")
    op.create_index("ix_captures_payload_sha256", "captures", ["payload_sha256"])
