"""disclosures register and the steps of authority requests

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 13:01:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosures",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=True),
        sa.Column("recipient_name", sa.String(length=200), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=True),
        sa.Column("subject_id", sa.String(length=36), nullable=True),
        sa.Column("identity_hashes", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("legal_reference", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("key_wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("details_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_disclosures_subject_id_subjects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosures")),
    )
    op.create_index(
        op.f("ix_disclosures_status_received_at"), "disclosures", ["status", "received_at"]
    )
    op.create_index(op.f("ix_disclosures_subject_id"), "disclosures", ["subject_id"])
    op.create_table(
        "disclosure_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("disclosure_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_disclosure_events_disclosure_id_disclosures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_events")),
    )
    op.create_index(
        op.f("ix_disclosure_events_disclosure_id"), "disclosure_events", ["disclosure_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_disclosure_events_disclosure_id"), table_name="disclosure_events")
    op.drop_table("disclosure_events")
    op.drop_index(op.f("ix_disclosures_subject_id"), table_name="disclosures")
    op.drop_index(op.f("ix_disclosures_status_received_at"), table_name="disclosures")
    op.drop_table("disclosures")
