"""url_key in byte order on PostgreSQL (collation "C"), so URL-prefix selections are index ranges

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def upgrade() -> None:
    # SQLite compares text bytewise already. On PostgreSQL a database's own collation (en_US...)
    # orders SURT keys unlike CDXJ and makes a key prefix no index range; "C" is byte order.
    if _postgresql():
        op.alter_column("captures", "url_key", type_=sa.Text(collation="C"))


def downgrade() -> None:
    if _postgresql():
        op.alter_column("captures", "url_key", type_=sa.Text())
