"""Charter's own tables (SQLAlchemy Core). Portable types only: they run on SQLite and PostgreSQL.

Personal values live only as ciphertext (``*_sealed`` columns) under the subject's data key;
identities are found by keyed hash (``lookup_hash``). Everything a subject owns cascades from
``subjects`` so that erasure is one delete plus the destruction of the wrapped key.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
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
    # Deleting a submission (a person erased) cascades here: without this index every deleted
    # submission scans the whole table. No index by category: the retention sweep reads the
    # table by id windows, and one more index would cost every insert and delete.
    Index(None, "submission_id"),
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
    # The version of the whole text shown (a cookie banner), beside the hash of the part that
    # concerned this purpose.
    Column("text_version", String(64)),
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

rights_requests = Table(
    "rights_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("type", String(32), nullable=False),
    Column("brand", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("received_via", String(32), nullable=False),
    Column("jurisdiction", String(16)),
    # The language the request was filed in, as given: its mails' (charter.domain.languages).
    Column("language", String(16)),
    Column("deadline_rule", String(16), nullable=False),
    Column("received_at", Timestamp, nullable=False),
    Column("confirm_by", Timestamp),
    Column("legal_due_at", Timestamp, nullable=False),
    Column("due_at", Timestamp, nullable=False),
    Column("extended_at", Timestamp),
    Column("verified_at", Timestamp),
    Column("closed_at", Timestamp),
    Column("approval_required", Boolean, nullable=False),
    # The person: keyed hashes of the identities given (never readable), the subject found, and
    # what must stay readable while the request is open (contact, details) sealed under the
    # request's own key; erasing the key (``key_wrapped`` NULL) leaves only the hashes.
    Column("identity_hashes", JSON, nullable=False),
    Column("subject_id", String(36)),
    Column("key_wrapped", LargeBinary),
    Column("contact_sealed", LargeBinary),
    Column("details_sealed", LargeBinary),
    Column("code_hash", String(64)),
    Column("code_expires_at", Timestamp),
    Column("code_sent_at", Timestamp),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Timestamp),
    Column("token_hash", String(64), unique=True),
    Column("reminders_sent", JSON, nullable=False),
    Column("outcome", JSON),
    # Which process is carrying the request out (host:pid), until when: a runner that dies
    # leaves a lease that runs out, or that a process on the same host sees is dead, and the
    # request is taken up again (never stuck "in progress").
    Column("lease_until", Timestamp),
    Column("lease_owner", String(200)),
    Index(None, "status", "due_at"),
)
"""Rights requests (GDPR Art. 12-22). Kept at least 24 months after closing, identifiers only as
keyed hashes; see ``charter.services.requests``."""

request_events = Table(
    "request_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "request_id",
        String(36),
        ForeignKey("rights_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", Timestamp, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("note", Text),
    Index(None, "request_id"),
)
"""A request's history: every status change, message, reminder and step; no personal data."""

request_steps = Table(
    "request_steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "request_id",
        String(36),
        ForeignKey("rights_requests.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("system", String(64), nullable=False),
    Column("target", String(128)),
    Column("action", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("result_sealed", LargeBinary),
    Column("summary", JSON),
    Column("error", Text),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("request_id", "seq"),
)
"""The persisted plan of a request: one step per system and table, done in order; a request
interrupted by a crash resumes at its first step not done."""

request_packages = Table(
    "request_packages",
    metadata,
    Column(
        "request_id",
        String(36),
        ForeignKey("rights_requests.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("package_sealed", LargeBinary, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
)
"""Access packages, sealed under the request's key, deleted when their download link expires."""

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Timestamp, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("request_id", String(36)),
    Column("key_wrapped", LargeBinary, nullable=False),
    Column("message_sealed", LargeBinary, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("last_error", Text),
    Index(None, "next_attempt_at"),
)
"""Mail waiting to go: written in the transaction that decides to send it, so a crash between
the decision and the delivery loses nothing; the row (and its key) is deleted once delivered."""

staff_users = Table(
    "staff_users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    Column("disabled_at", Timestamp),
)
"""People who log in to the admin console. The e-mail is stored lower-cased (it is the login);
the password only as an Argon2id hash. See ``charter.services.staff``."""

staff_sessions = Table(
    "staff_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Index(None, "user_id"),
)
"""Console sessions: the id is the SHA-256 of the cookie's random token, so a copy of the table
opens no session."""

anonymous_tallies = Table(
    "anonymous_tallies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(64), nullable=False),
    Column("swept_at", Timestamp, nullable=False),
    Column("brand", String(64), nullable=False),
    Column("touchpoint", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("category", String(128), nullable=False),
    Column("count", Integer, nullable=False),
)
"""What a retention rule's ``anonymise`` leaves of the values it removes: how many there were
of each kind, per sweep. Nothing in it refers to a person."""

audit_events = Table(
    "audit_events",
    metadata,
    # Given by ``append_audit`` from ``audit_head`` (never by the database): contiguous from 1,
    # as a rolled-back append rolls its number back too.
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", Timestamp, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200)),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
"""The tamper-evident audit log: each row holds the previous row's hash and its own (see
``charter.domain.audit``); written only by ``charter.storage.audit.append_audit``, inside the
transaction of the change it records. No personal data: ids, keyed hashes, counts, roles."""

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)
"""One row (id 1): the last audit event's seq and hash (0 and 64 zeros for an empty log).
Appends lock it, so concurrent appends chain one after another on both databases."""

parental_consents = Table(
    "parental_consents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("brand", String(64), nullable=False),
    Column("touchpoint", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("purposes", JSON, nullable=False),
    Column("offered_consents", JSON, nullable=False),
    Column("allowed_consents", JSON, nullable=False),
    Column("notice_hash", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    # The parent's e-mail (and name, if given), sealed under the row's own key: the only thing
    # kept before the parent confirms, and gone with the row when they refuse or do not answer.
    Column("key_wrapped", LargeBinary, nullable=False),
    Column("parent_sealed", LargeBinary, nullable=False),
    Column("language", String(16)),
    Column("requested_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("decided_at", Timestamp),
    Column("used_at", Timestamp),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE")),
    Index(None, "subject_id"),
    Index(None, "status", "expires_at"),
)
"""Parents asked to consent for their child (GDPR Art. 8); see ``charter.services.children``.
Once used, the row belongs to the child's subject and goes with its erasure."""

# -- registers (issue 7): policy versions, disclosures, breaches -----------------------------------

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False, unique=True),
    Column("effective_at", Timestamp, nullable=False),
    Column("published_at", Timestamp, nullable=False),
    Column("published_by", String(200), nullable=False),
    Column("manifest_sha256", String(64), nullable=False),
    Column("manifest_text", Text, nullable=False),
    Column("changes", JSON, nullable=False),
    Column("material", Boolean, nullable=False),
    Column("notices", JSON, nullable=False),
)
"""Each published version of the manifest (the public policy), with its changes from the
previous one, classified; see ``charter.services.policy_versions``."""

disclosures = Table(
    "disclosures",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("recipient_name", String(200), nullable=False),
    Column("brand", String(64)),
    # The person, if one: the subject (cleared when erased; the keyed hashes of the identities
    # named stay in ``disclosure_identities``), so that the record stays as evidence without
    # naming anyone.
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="SET NULL")),
    Column("categories", JSON, nullable=False),
    Column("scope", JSON),
    Column("purposes", JSON, nullable=False),
    Column("status", String(32), nullable=False),
    Column("legal_reference", Text),
    Column("confidential", Boolean, nullable=False),
    Column("confidential_until", Timestamp),
    Column("received_at", Timestamp, nullable=False),
    Column("decided_at", Timestamp),
    Column("disclosed_at", Timestamp),
    Column("recorded_at", Timestamp, nullable=False),
    Column("created_by", String(200), nullable=False),
    # Notes and documents are sealed under the disclosure's own key (they may name people).
    Column("key_wrapped", LargeBinary, nullable=False),
    Index(None, "subject_id"),
    Index(None, "status", "received_at"),
    Index(None, "recipient", "status"),
)
"""Every disclosure of personal data: processor and affiliate shares, public postings, authority
and court requests (a workflow), aggregates; see ``charter.services.disclosures``."""

disclosure_identities = Table(
    "disclosure_identities",
    metadata,
    Column(
        "disclosure_id",
        String(36),
        ForeignKey("disclosures.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("lookup", String(100), primary_key=True),
    Index(None, "lookup"),
)
"""The keyed hashes (``kind:hex``) of the identities a disclosure named: how a person's access
report and erasure find the disclosures about them, after merges and erasure too."""

disclosure_events = Table(
    "disclosure_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "disclosure_id",
        String(36),
        ForeignKey("disclosures.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", Timestamp, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("note_sealed", LargeBinary),
    Index(None, "disclosure_id"),
)
"""A disclosure's history: its recording and every step (the note and reasons sealed)."""

disclosure_documents = Table(
    "disclosure_documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "disclosure_id",
        String(36),
        ForeignKey("disclosures.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "event_id",
        Integer,
        ForeignKey("disclosure_events.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),
    Column("added_at", Timestamp, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64)),
    Column("meta_sealed", LargeBinary, nullable=False),
    Column("content_sealed", LargeBinary),
    Index(None, "disclosure_id"),
)
"""Documents of a disclosure (an order, a letter, the answer sent): uploads sealed under the
disclosure's key, or references to where they are kept (no content)."""

breaches = Table(
    "breaches",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(32), nullable=False),
    Column("aware_at", Timestamp, nullable=False),
    Column("occurred_at", Timestamp),
    Column("contained_at", Timestamp),
    Column("recorded_at", Timestamp, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("systems", JSON, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("risk", String(16), nullable=False),
    Column("risk_reasons", Text, nullable=False),
    Column("consequences", Text, nullable=False),
    Column("measures", Text, nullable=False),
    Column("affected_count", Integer),
    Column("authority_notified_at", Timestamp),
    Column("authority_reasons", Text),
    Column("people_notified_at", Timestamp),
    Column("people_reasons", Text),
    # The reminders sent (hours left), so that each goes once.
    Column("reminders_sent", JSON, nullable=False),
    Column("details", JSON, nullable=False),
    Index(None, "status", "aware_at"),
)
"""The breach register (GDPR Art. 33(5)): every breach, notified or not, with the reasons; see
``charter.services.breaches``."""

breach_events = Table(
    "breach_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("breach_id", String(36), ForeignKey("breaches.id", ondelete="CASCADE"), nullable=False),
    Column("at", Timestamp, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("note", Text),
    # An authority notice's phase (Art. 33(4)), and what was sent in it.
    Column("phase", Integer),
    Column("details", JSON),
    Index(None, "breach_id"),
)

event_drops = Table(
    "event_drops",
    metadata,
    # The UTC day of the events (ISO date), the brand and why they were dropped.
    Column("day", String(10), primary_key=True),
    Column("brand", String(64), primary_key=True),
    Column("reason", String(64), primary_key=True),
    Column("count", Integer, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)
"""Page views refused at ``POST /v1/events`` (no consent, unreadable), counted per day, brand
and reason; the events themselves are not kept (``charter.services.events``)."""

stat_releases = Table(
    "stat_releases",
    metadata,
    Column("id", String(36), primary_key=True),
    # A Parquet system's key, or ``survey:<touchpoint>`` (0017 widened it for those).
    Column("dataset", String(80), nullable=False),
    Column("query", JSON, nullable=False),
    Column("parameters", JSON, nullable=False),
    # The ledger: the epsilons of a dataset's releases add up (sequential composition).
    Column("epsilon", Float, nullable=False),
    Column("noise_scale", Float, nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("recipient_name", String(200), nullable=False),
    Column("disclosure_id", String(36), ForeignKey("disclosures.id", ondelete="SET NULL")),
    Column("created_at", Timestamp, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("result", JSON, nullable=False),
    Index(None, "dataset", "created_at"),
)
"""Every aggregate statistics release (query, parameters, noise, recipient, what was released)
and, summed per dataset, the privacy budget spent; see ``charter.services.statistics``."""

survey_quotes = Table(
    "survey_quotes",
    metadata,
    Column(
        "release_id",
        String(36),
        ForeignKey("stat_releases.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True, autoincrement=False),
    # The quote and the name point at the person's sealed values, never copy them: erasing the
    # person (or the retention sweep deleting the values) removes the quote with them.
    Column(
        "quote_value_id",
        Integer,
        ForeignKey("personal_values.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "name_value_id",
        Integer,
        ForeignKey("personal_values.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("disclosure_id", String(36), ForeignKey("disclosures.id", ondelete="SET NULL")),
    # Deleting a person's values cascades here: without these every delete scans the table.
    Index(None, "quote_value_id"),
    Index(None, "name_value_id"),
)
"""The quotes of a published survey result (``charter.services.surveys``), re-checked against
the author's permission whenever the result is read."""

# -- public content (issue 9, item 6): forums, blogs, chats ----------------------------------------

visibility_choices = Table(
    "visibility_choices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("brand", String(64), nullable=False),
    Column("touchpoint", String(64), nullable=False),
    Column("field", String(64), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("method", String(32), nullable=False),
    Column("chosen_at", Timestamp, nullable=False),
    Index(None, "subject_id", "touchpoint"),
)
"""Append-only evidence of a person's choices to show a ``choice`` field publicly (GDPR Art.
25(2)): the latest per field wins; see ``charter.services.publication``."""

republications = Table(
    "republications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("brand", String(64), nullable=False),
    Column("touchpoint", String(64), nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    # The URL and the republisher's name and address name the person's post: sealed under the
    # record's own key, so that a merge of subjects only moves the row.
    Column("key_wrapped", LargeBinary, nullable=False),
    Column("details_sealed", LargeBinary, nullable=False),
    Index(None, "subject_id"),
)
"""Copies of a person's public posts that staff learned of, each told of the person's erasure
(Art. 17(2)) and then deleted; see ``charter.services.publication``."""

# -- notices tied to collection (issue 9): prior notices, data received from partners ---------

prior_notices_sent = Table(
    "prior_notices_sent",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("brand", String(64), nullable=False),
    Column("notice", String(64), nullable=False),
    Column("touchpoint", String(64), nullable=False),
    # The outbox row carrying the mail, until the outbox delivers it and sets sent_at.
    Column("outbox_id", Integer),
    Column("queued_at", Timestamp, nullable=False),
    Column("sent_at", Timestamp),
    Index(None, "subject_id"),
    Index(None, "outbox_id"),
)
"""Notices sent to a person before a kind of data is collected from them (a field's
``prior_notice``); see ``charter.services.prior_notices``."""

source_receipts = Table(
    "source_receipts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "submission_id",
        String(36),
        ForeignKey("submissions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("subject_id", String(36), ForeignKey("subjects.id", ondelete="CASCADE"), nullable=False),
    Column("brand", String(64), nullable=False),
    Column("touchpoint", String(64), nullable=False),
    Column("partner", String(64), nullable=False),
    Column("agreement", String(200)),
    Column("received_at", Timestamp, nullable=False),
    # The Art. 14 notice: pending, queued (in the outbox), sent, exempt or undeliverable.
    Column("notice_status", String(16), nullable=False),
    Column("notice_due_at", Timestamp),
    Column("outbox_id", Integer),
    Column("notice_sent_at", Timestamp),
    Column("exemption_ground", String(32)),
    Column("exemption_reason", Text),
    Index(None, "subject_id"),
    Index(None, "notice_status"),
    Index(None, "outbox_id"),
)
"""Submissions received from a partner or a social platform (Art. 14): which one, under which
agreement, and the notice owed to the person; see ``charter.services.sources``."""

contest_announcements = Table(
    "contest_announcements",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("touchpoint", String(64), nullable=False),
    Column("brand", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    # The contest's rules when announced: how much of each name, and whether the country.
    Column("winners_rule", String(32), nullable=False),
    Column("winner_country", Boolean, nullable=False),
    Column("winner_count", Integer, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("created_by", String(200), nullable=False),
)
"""A contest's winner announcement. No name is kept here: the names are read, when the
announcement is, from the winners' entries (``contest_winners``), so an erasure withdraws them;
see ``charter.services.contests``."""

contest_winners = Table(
    "contest_winners",
    metadata,
    Column(
        "announcement_id",
        String(36),
        ForeignKey("contest_announcements.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),
    # The winning entry; cleared when the person is erased (their name is then withdrawn).
    # An entry, not a subject: a merge of two people keeps the entry's id and values.
    Column("submission_id", String(36), ForeignKey("submissions.id", ondelete="SET NULL")),
    Column("disclosure_id", String(36), ForeignKey("disclosures.id", ondelete="SET NULL")),
    Index(None, "submission_id"),
)

contest_transfers = Table(
    "contest_transfers",
    metadata,
    # One row per entry passed to a contest's sponsor, so that the next transfer passes only
    # the new ones; gone with the entry when the person is erased (the disclosure remains).
    Column(
        "submission_id",
        String(36),
        ForeignKey("submissions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("touchpoint", String(64), nullable=False),
    Column("brand", String(64), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("disclosure_id", String(36), ForeignKey("disclosures.id", ondelete="SET NULL")),
    Column("passed_at", Timestamp, nullable=False),
    # The transfer this entry went in: the entries one call passed share it.
    Column("transfer_id", String(36), nullable=False),
    Index(None, "touchpoint", "brand"),
    Index(None, "touchpoint", "transfer_id"),
)
"""The entries of a sponsored contest passed to its sponsor; see
``charter.services.sponsor_transfers``."""
