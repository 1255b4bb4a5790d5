"""contest transfers: each transfer's own id, so that it can be read again by id

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 18:00:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contest_transfers") as batch:
        batch.add_column(sa.Column("transfer_id", sa.String(length=36), nullable=True))
    # The entries passed before: one transfer per touchpoint, brand and moment, as they were made.
    table = sa.table(
        "contest_transfers",
        sa.column("touchpoint", sa.String),
        sa.column("brand", sa.String),
        sa.column("passed_at", sa.DateTime(timezone=True)),
        sa.column("transfer_id", sa.String),
    )
    connection = op.get_bind()
    made = connection.execute(
        sa.select(table.c.touchpoint, table.c.brand, table.c.passed_at).distinct()
    ).all()
    for touchpoint, brand, passed_at in made:
        connection.execute(
            table.update()
            .where(
                table.c.touchpoint == touchpoint,
                table.c.brand == brand,
                table.c.passed_at == passed_at,
            )
            .values(transfer_id=str(uuid.uuid4()))
        )
    with op.batch_alter_table("contest_transfers") as batch:
        batch.alter_column("transfer_id", existing_type=sa.String(length=36), nullable=False)
        batch.create_index(
            batch.f("ix_contest_transfers_touchpoint_transfer_id"), ["touchpoint", "transfer_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("contest_transfers") as batch:
        batch.drop_index(batch.f("ix_contest_transfers_touchpoint_transfer_id"))
        batch.drop_column("transfer_id")
