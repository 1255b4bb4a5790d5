"""contests: winner announcements, their winners' entries, and entries passed to a sponsor

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contest_announcements",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("touchpoint", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("winners_rule", sa.String(length=32), nullable=False),
        sa.Column("winner_country", sa.Boolean(), nullable=False),
        sa.Column("winner_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contest_announcements")),
    )
    op.create_table(
        "contest_winners",
        sa.Column("announcement_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=True),
        sa.Column("disclosure_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["announcement_id"],
            ["contest_announcements.id"],
            name=op.f("fk_contest_winners_announcement_id_contest_announcements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_contest_winners_submission_id_submissions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_contest_winners_disclosure_id_disclosures"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("announcement_id", "position", name=op.f("pk_contest_winners")),
    )
    op.create_index(op.f("ix_contest_winners_submission_id"), "contest_winners", ["submission_id"])
    op.create_table(
        "contest_transfers",
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("touchpoint", sa.String(length=64), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("disclosure_id", sa.String(length=36), nullable=True),
        sa.Column("passed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_contest_transfers_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_contest_transfers_disclosure_id_disclosures"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_contest_transfers")),
    )
    op.create_index(
        op.f("ix_contest_transfers_touchpoint_brand"),
        "contest_transfers",
        ["touchpoint", "brand"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_contest_transfers_touchpoint_brand"), table_name="contest_transfers")
    op.drop_table("contest_transfers")
    op.drop_index(op.f("ix_contest_winners_submission_id"), table_name="contest_winners")
    op.drop_table("contest_winners")
    op.drop_table("contest_announcements")
