"""prior notices sent before collection, and submissions received from partners (Art. 14)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prior_notices_sent",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("notice", sa.String(length=64), nullable=False),
        sa.Column("touchpoint", sa.String(length=64), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_prior_notices_sent_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_notices_sent")),
    )
    op.create_index(op.f("ix_prior_notices_sent_subject_id"), "prior_notices_sent", ["subject_id"])
    op.create_index(op.f("ix_prior_notices_sent_outbox_id"), "prior_notices_sent", ["outbox_id"])
    op.create_table(
        "source_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("touchpoint", sa.String(length=64), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("agreement", sa.String(length=200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice_status", sa.String(length=16), nullable=False),
        sa.Column("notice_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("notice_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exemption_ground", sa.String(length=32), nullable=True),
        sa.Column("exemption_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_source_receipts_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_source_receipts_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_receipts")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_source_receipts_submission_id")),
    )
    op.create_index(op.f("ix_source_receipts_subject_id"), "source_receipts", ["subject_id"])
    op.create_index(op.f("ix_source_receipts_notice_status"), "source_receipts", ["notice_status"])
    op.create_index(op.f("ix_source_receipts_outbox_id"), "source_receipts", ["outbox_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_source_receipts_outbox_id"), table_name="source_receipts")
    op.drop_index(op.f("ix_source_receipts_notice_status"), table_name="source_receipts")
    op.drop_index(op.f("ix_source_receipts_subject_id"), table_name="source_receipts")
    op.drop_table("source_receipts")
    op.drop_index(op.f("ix_prior_notices_sent_outbox_id"), table_name="prior_notices_sent")
    op.drop_index(op.f("ix_prior_notices_sent_subject_id"), table_name="prior_notices_sent")
    op.drop_table("prior_notices_sent")
