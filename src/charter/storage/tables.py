"""Charter's own tables (SQLAlchemy Core). Portable types only: they run on SQLite and PostgreSQL.

Personal values live only as ciphertext (``*_sealed`` columns) under the subject's data key;
identities are found by keyed hash (``lookup_hash``). Everything a subject owns cascades from
``subjects`` so that erasure is one delete plus the destruction of the wrapped key.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Timestamp = DateTime(timezone=True)

subjects = Table(
    "subjects",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("key_id", String(32), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

subject_aliases = Table(
    "subject_aliases",
    metadata,
    Column("alias_id", String(36), primary_key=True),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("merged_at", Timestamp, nullable=False),
    Index(None, "subject_id"),
)

identities = Table(
    "identities",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("lookup_hash", LargeBinary(32), nullable=False),
    Column("value_sealed", LargeBinary, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    UniqueConstraint("kind", "lookup_hash"),
    Index(None, "subject_id"),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("brand", String(64), nullable=False),
    Column("touchpoint", String(64), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("received_at", Timestamp, nullable=False),
    Index(None, "subject_id"),
)

personal_values = Table(
    "personal_values",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column(
        "submission_id",
        String(36),
        ForeignKey("submissions.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("brand", String(64), nullable=False),
    Column("touchpoint", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("category", String(128), nullable=False),
    Column("purposes", JSON, nullable=False),
    Column("value_sealed", LargeBinary, nullable=False),
    Column("collected_at", Timestamp, nullable=False),
    Column("last_activity_at", Timestamp, nullable=False),
    Index(None, "subject_id"),
    Index(None, "category", "collected_at"),
)

notices = Table(
    "notices",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("first_shown_at", Timestamp, nullable=False),
)

consent_events = Table(
    "consent_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("brand", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("purpose_version", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("notice_hash", String(64), ForeignKey("notices.hash"), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("touchpoint", String(64)),
    Column("submission_id", String(36), ForeignKey("submissions.id", ondelete="SET NULL")),
    Column("method", String(32), nullable=False),
    Column("occurred_at", Timestamp, nullable=False),
    Column("channel", String(16), nullable=False, server_default="any"),
    Column("language", String(16)),
    Column("jurisdiction", String(16)),
    Index(None, "subject_id", "brand", "purpose"),
)

subject_states = Table(
    "subject_states",
    metadata,
    Column(
        "subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("state", JSON, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)
"""The compact current state of every current subject: consents, objections, restriction, age,
opt-outs. One row per subject from its creation; kept current in the same transaction as every
event; always derivable from the event tables."""

decision_states = Table(
    "decision_states",
    metadata,
    Column(
        "subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("flags", Integer, nullable=False),
    Column("objections", Text),
    Column("consent_index", Text, nullable=False),
    # Narrow rows keyed by the subject alone (no rowid on SQLite): a batch of decisions is one
    # index search per subject, about twice as fast as reading beside the JSON state.
    sqlite_with_rowid=False,
)
"""What decisions read, projected from ``subject_states.state`` in the same transaction, so
that deciding parses no JSON (see ``charter.storage.ledger.project``). One row per subject."""

preference_events = Table(
    "preference_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("brand", String(64)),
    Column("purpose", String(64)),
    Column("channel", String(16)),
    Column("method", String(32), nullable=False),
    Column("occurred_at", Timestamp, nullable=False),
    Index(None, "subject_id"),
)
"""Append-only evidence of objections, restrictions, unsubscribes and opt-out signals."""

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
)
