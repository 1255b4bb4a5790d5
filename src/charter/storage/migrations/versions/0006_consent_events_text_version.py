"""consent events keep the version of the whole text shown (the cookie banner's)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 10:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.add_column(sa.Column("text_version", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_column("text_version")
