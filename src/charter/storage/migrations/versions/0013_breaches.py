"""breach register and its events

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 13:02:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "breaches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("systems", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=False),
        sa.Column("risk_reasons", sa.Text(), nullable=False),
        sa.Column("consequences", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("affected_count", sa.Integer(), nullable=True),
        sa.Column("authority_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("authority_reasons", sa.Text(), nullable=True),
        sa.Column("people_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("people_reasons", sa.Text(), nullable=True),
        sa.Column("reminders_sent", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breaches")),
    )
    op.create_index(op.f("ix_breaches_status_aware_at"), "breaches", ["status", "aware_at"])
    op.create_table(
        "breach_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("breach_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("phase", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["breach_id"],
            ["breaches.id"],
            name=op.f("fk_breach_events_breach_id_breaches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_breach_events")),
    )
    op.create_index(op.f("ix_breach_events_breach_id"), "breach_events", ["breach_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_breach_events_breach_id"), table_name="breach_events")
    op.drop_table("breach_events")
    op.drop_index(op.f("ix_breaches_status_aware_at"), table_name="breaches")
    op.drop_table("breaches")
