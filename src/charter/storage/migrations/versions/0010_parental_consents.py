"""parental consents: a parent's contact, kept only until they answer

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 12:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parental_consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("touchpoint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("offered_consents", sa.JSON(), nullable=False),
        sa.Column("allowed_consents", sa.JSON(), nullable=False),
        sa.Column("notice_hash", sa.String(length=64), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("key_wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("parent_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subject_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_parental_consents_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parental_consents")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_parental_consents_token_hash")),
    )
    op.create_index(
        op.f("ix_parental_consents_subject_id"), "parental_consents", ["subject_id"]
    )
    op.create_index(
        op.f("ix_parental_consents_status_expires_at"),
        "parental_consents",
        ["status", "expires_at"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_parental_consents_status_expires_at"), table_name="parental_consents")
    op.drop_index(op.f("ix_parental_consents_subject_id"), table_name="parental_consents")
    op.drop_table("parental_consents")
