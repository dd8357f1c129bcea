"""Clean texts by the WARC file holding them: what verify, repair and export ask of one file

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 10:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Without them, "which clean texts are in this file" read every extraction: a question about
    # one file cost as much as the catalogue.
    op.create_index("ix_extractions_conversion_file", "extractions", ["conversion_file"])
    op.create_index("ix_extractions_metadata_file", "extractions", ["metadata_file"])


def downgrade() -> None:
    op.drop_index("ix_extractions_metadata_file", table_name="extractions")
    op.drop_index("ix_extractions_conversion_file", table_name="extractions")
