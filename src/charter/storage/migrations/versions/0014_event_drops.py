"""counts of dropped page views

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 13:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_drops",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "brand", "reason", name=op.f("pk_event_drops")),
    )


def downgrade() -> None:
    op.drop_table("event_drops")
