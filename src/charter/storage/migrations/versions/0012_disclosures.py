"""disclosures register: the disclosures, the identities they name, their steps and documents

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
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("recipient_name", sa.String(length=200), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=True),
        sa.Column("subject_id", sa.String(length=36), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=True),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("legal_reference", sa.Text(), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("confidential_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disclosed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("key_wrapped", sa.LargeBinary(), nullable=False),
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
    op.create_index(op.f("ix_disclosures_recipient_status"), "disclosures", ["recipient", "status"])
    op.create_table(
        "disclosure_identities",
        sa.Column("disclosure_id", sa.String(length=36), nullable=False),
        sa.Column("lookup", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_disclosure_identities_disclosure_id_disclosures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("disclosure_id", "lookup", name=op.f("pk_disclosure_identities")),
    )
    op.create_index(
        op.f("ix_disclosure_identities_lookup"), "disclosure_identities", ["lookup"]
    )
    op.create_table(
        "disclosure_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("disclosure_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note_sealed", sa.LargeBinary(), nullable=True),
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
    op.create_table(
        "disclosure_documents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("disclosure_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("meta_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_disclosure_documents_disclosure_id_disclosures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["disclosure_events.id"],
            name=op.f("fk_disclosure_documents_event_id_disclosure_events"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_documents")),
    )
    op.create_index(
        op.f("ix_disclosure_documents_disclosure_id"), "disclosure_documents", ["disclosure_id"]
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_disclosure_documents_disclosure_id"), table_name="disclosure_documents"
    )
    op.drop_table("disclosure_documents")
    op.drop_index(op.f("ix_disclosure_events_disclosure_id"), table_name="disclosure_events")
    op.drop_table("disclosure_events")
    op.drop_index(op.f("ix_disclosure_identities_lookup"), table_name="disclosure_identities")
    op.drop_table("disclosure_identities")
    op.drop_index(op.f("ix_disclosures_recipient_status"), table_name="disclosures")
    op.drop_index(op.f("ix_disclosures_subject_id"), table_name="disclosures")
    op.drop_index(op.f("ix_disclosures_status_received_at"), table_name="disclosures")
    op.drop_table("disclosures")
