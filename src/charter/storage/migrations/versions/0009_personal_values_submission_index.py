"""personal values indexed by submission (erasure cascades through it), not by category

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 10:35:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_personal_values_submission_id"), "personal_values", ["submission_id"]
    )
    op.drop_index("ix_personal_values_category_collected_at", table_name="personal_values")


def downgrade() -> None:
    op.create_index(
        "ix_personal_values_category_collected_at",
        "personal_values",
        ["category", "collected_at"],
    )
    op.drop_index(op.f("ix_personal_values_submission_id"), table_name="personal_values")
