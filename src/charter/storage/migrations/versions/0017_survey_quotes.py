"""survey results: the quotes of a published result; survey datasets in the budget ledger

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ``survey:<touchpoint>`` datasets: a 64-character touchpoint key plus the prefix.
    with op.batch_alter_table("stat_releases") as batch:
        batch.alter_column(
            "dataset",
            existing_type=sa.String(length=64),
            type_=sa.String(length=80),
            existing_nullable=False,
        )
    op.create_table(
        "survey_quotes",
        sa.Column("release_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("quote_value_id", sa.Integer(), nullable=False),
        sa.Column("name_value_id", sa.Integer(), nullable=False),
        sa.Column("disclosure_id", sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["stat_releases.id"],
            name=op.f("fk_survey_quotes_release_id_stat_releases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["quote_value_id"],
            ["personal_values.id"],
            name=op.f("fk_survey_quotes_quote_value_id_personal_values"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["name_value_id"],
            ["personal_values.id"],
            name=op.f("fk_survey_quotes_name_value_id_personal_values"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_survey_quotes_disclosure_id_disclosures"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("release_id", "position", name=op.f("pk_survey_quotes")),
    )
    op.create_index(op.f("ix_survey_quotes_quote_value_id"), "survey_quotes", ["quote_value_id"])
    op.create_index(op.f("ix_survey_quotes_name_value_id"), "survey_quotes", ["name_value_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_survey_quotes_name_value_id"), table_name="survey_quotes")
    op.drop_index(op.f("ix_survey_quotes_quote_value_id"), table_name="survey_quotes")
    op.drop_table("survey_quotes")
    with op.batch_alter_table("stat_releases") as batch:
        batch.alter_column(
            "dataset",
            existing_type=sa.String(length=80),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
