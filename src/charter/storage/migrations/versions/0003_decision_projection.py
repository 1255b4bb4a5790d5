"""decision_states: the projection decisions read; a state for every subject

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 07:20:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_STATES = sa.table(
    "subject_states",
    sa.column("subject_id", sa.String),
    sa.column("state", sa.JSON),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
_SUBJECTS = sa.table(
    "subjects", sa.column("id", sa.String), sa.column("updated_at", sa.DateTime(timezone=True))
)


def _projection(state: Any) -> dict[str, Any]:
    # The projection as this revision defines it, restated here: a migration must not change
    # when the application's code does later.
    if isinstance(state, str):
        state = json.loads(state)
    state = state or {}
    flags = (1 if state.get("r") else 0) | (2 if state.get("m") else 0) | (4 if state.get("p") else 0)
    index = "".join(
        f" {brand}/{purpose}/{channel}={action}/{version}"
        for brand, purpose, channel, action, version, _ in sorted(
            state.get("c", []), key=lambda c: (c[0], c[1], c[2])
        )
    )
    objections = " ".join(sorted(state.get("o", []))) or None
    return {"flags": flags, "objections": objections, "consent_index": index}


def upgrade() -> None:
    decisions = op.create_table(
        "decision_states",
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("objections", sa.Text(), nullable=True),
        sa.Column("consent_index", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["subjects.id"],
            name=op.f("fk_decision_states_subject_id_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_decision_states")),
        sqlite_with_rowid=False,
    )
    assert decisions is not None
    connection = op.get_bind()
    # Decisions read decision_states alone, so a subject with no state yet gets an empty one.
    missing = sa.select(_SUBJECTS.c.id, _SUBJECTS.c.updated_at).where(
        _SUBJECTS.c.id.not_in(sa.select(_STATES.c.subject_id))
    )
    for subject_id, updated_at in connection.execute(missing).all():
        connection.execute(
            _STATES.insert().values(subject_id=subject_id, state={}, updated_at=updated_at)
        )
    rows = connection.execute(sa.select(_STATES.c.subject_id, _STATES.c.state)).all()
    if rows:
        connection.execute(
            decisions.insert(),
            [{"subject_id": row.subject_id, **_projection(row.state)} for row in rows],
        )


def downgrade() -> None:
    op.drop_table("decision_states")
