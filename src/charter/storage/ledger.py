"""The consent ledger and the compact subject state, written together in one transaction.

Events are appended (never updated); the state row that decisions read is updated in the same
transaction, so a committed event is always reflected, and an acknowledged write survives a
crash (SQLite ``synchronous=FULL``, PostgreSQL's WAL). The state is stored as small JSON:

    {"v": 1, "c": [[brand, purpose, channel, action, version, at], ...],
     "o": [objected purpose keys], "r": restricted, "m": minor,
     "u": [[brand, channel] unsubscribed], "g": sale/sharing opt-out (GPC)}

Beside it, in a narrow table (``decision_states``), the projection decisions read
(``project``), so that a decision parses no JSON: ``flags`` (1 restricted, 2 minor; a parent's
consent is a consent record on the ``parent`` channel), ``objections`` (objected keys joined by
spaces, or NULL) and ``consent_index``, one `` brand/purpose/channel=action/version`` entry per
consent record, sorted, so that the records of one brand and purpose are adjacent and found
with one string search. Keys are manifest keys (``[a-z0-9_]``) and channel names, so the
separators never occur inside them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from charter.domain.consent import ConsentAction, ConsentEvent, ConsentRecord, apply_event
from charter.domain.decisions import SubjectState
from charter.domain.preferences import SubjectRecord
from charter.storage.engine import utc
from charter.storage.tables import (
    consent_events,
    decision_states,
    notices,
    preference_events,
    subject_states,
)

EMPTY = SubjectRecord()

# Built once: constructing a statement costs more than running it (the compiled form is cached).
_LOAD = select(subject_states.c.state).where(subject_states.c.subject_id == bindparam("subject_id"))
_LOCK = _LOAD.with_for_update()
_LOAD_MANY = select(subject_states.c.subject_id, subject_states.c.state).where(
    subject_states.c.subject_id.in_(bindparam("ids", expanding=True))
)
# In id order, so that two writers locking overlapping subjects cannot deadlock.
_LOCK_MANY = _LOAD_MANY.order_by(subject_states.c.subject_id).with_for_update()
_SAVE = (
    update(subject_states)
    .where(subject_states.c.subject_id == bindparam("b_subject_id"))
    .values(
        state=bindparam("b_state", type_=subject_states.c.state.type),
        updated_at=bindparam("b_updated_at", type_=subject_states.c.updated_at.type),
    )
)
_SAVE_PROJECTION = (
    update(decision_states)
    .where(decision_states.c.subject_id == bindparam("b_subject_id"))
    .values(
        flags=bindparam("b_flags"),
        objections=bindparam("b_objections"),
        consent_index=bindparam("b_consent_index"),
    )
)
# Ids come back in the order of the rows given, which is how events are matched to them.
_INSERT_EVENTS = insert(consent_events).returning(consent_events.c.id, sort_by_parameter_order=True)


def keep_notice(connection: Connection, notice_hash: str, text: str, now: dt.datetime) -> None:
    """Keep a notice text once, keyed by its hash: one ``INSERT ... ON CONFLICT DO NOTHING``
    (two writers keeping the same new text cannot collide)."""
    dialect = connection.dialect.name
    values = {"hash": notice_hash, "text": text, "first_shown_at": now}
    if dialect == "postgresql":
        connection.execute(postgresql.insert(notices).on_conflict_do_nothing(), values)
    elif dialect == "sqlite":
        connection.execute(sqlite.insert(notices).on_conflict_do_nothing(), values)
    elif connection.scalar(select(notices.c.hash).where(notices.c.hash == notice_hash)) is None:
        connection.execute(insert(notices), values)


def decode(document: dict[str, Any] | None) -> SubjectRecord:
    if not document:
        return EMPTY
    consents = {
        (brand, purpose, channel): ConsentRecord(
            ConsentAction(action), int(version), utc(dt.datetime.fromisoformat(at))
        )
        for brand, purpose, channel, action, version, at in document.get("c", [])
    }
    return SubjectRecord(
        decision=SubjectState(
            consents=consents,
            objections=frozenset(document.get("o", [])),
            restricted=bool(document.get("r", False)),
            minor=bool(document.get("m", False)),
        ),
        unsubscribed=frozenset((b, c) for b, c in document.get("u", [])),
        sale_opt_out=bool(document.get("g", False)),
    )


RESTRICTED, MINOR = 1, 2
# Decisions read a consent's action and version, never its time; the projection leaves it out.
_UNDATED = dt.datetime.min.replace(tzinfo=dt.UTC)


def project(state: SubjectRecord) -> dict[str, Any]:
    """The decision columns of ``state`` (see the module docstring)."""
    decision = state.decision
    flags = (RESTRICTED if decision.restricted else 0) | (MINOR if decision.minor else 0)
    index = "".join(
        f" {brand}/{purpose}/{channel}={record.action.value}/{record.purpose_version}"
        for (brand, purpose, channel), record in sorted(decision.consents.items())
    )
    objections = " ".join(sorted(decision.objections)) or None
    return {"flags": flags, "objections": objections, "consent_index": index}


def consent_slice(index: str, brand: str, purpose: str) -> str:
    """The entries of ``index`` for one brand and purpose (every channel), as one string.

    Two subjects with equal flags, objections and slice get the same decision on that purpose,
    which is what lets a batch decide each distinct combination once.
    """
    prefix = f" {brand}/{purpose}/"
    start = index.find(prefix)
    if start < 0:
        return ""
    end = index.find(" ", start + 1)
    while end >= 0 and index.startswith(prefix, end):
        end = index.find(" ", end + 1)
    return index[start:] if end < 0 else index[start:end]


def decision_state(flags: int, objections: str | None, consents: str) -> SubjectState:
    """The ``SubjectState`` a decision needs, from the projection (``consents`` may be a
    ``consent_slice``: a decision on one purpose reads only that purpose's records)."""
    records = {}
    for entry in consents.split():
        key, _, value = entry.partition("=")
        brand, purpose, channel = key.split("/")
        action, version = value.split("/")
        records[(brand, purpose, channel)] = ConsentRecord(
            ConsentAction(action), int(version), _UNDATED
        )
    return SubjectState(
        consents=records,
        objections=frozenset(objections.split()) if objections else frozenset(),
        restricted=bool(flags & RESTRICTED),
        minor=bool(flags & MINOR),
    )


def encode(state: SubjectRecord) -> dict[str, Any]:
    decision = state.decision
    return {
        "v": 1,
        "c": [
            [
                brand,
                purpose,
                channel,
                record.action.value,
                record.purpose_version,
                record.at.isoformat(),
            ]
            for (brand, purpose, channel), record in sorted(decision.consents.items())
        ],
        "o": sorted(decision.objections),
        "r": decision.restricted,
        "m": decision.minor,
        "u": sorted([brand, channel] for brand, channel in state.unsubscribed),
        "g": state.sale_opt_out,
    }


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One consent event with the evidence kept beside it."""

    event: ConsentEvent
    notice_hash: str
    method: str
    policy_version: str
    touchpoint: str | None = None
    submission_id: str | None = None
    language: str | None = None
    jurisdiction: str | None = None
    text_version: str | None = None


@dataclass(frozen=True, slots=True)
class PreferenceEntry:
    kind: str
    method: str
    occurred_at: dt.datetime
    brand: str | None = None
    purpose: str | None = None
    channel: str | None = None


class Ledger:
    """Appends events for one subject and keeps its state current; the caller owns the
    transaction (and so the lock: SQLite writers hold the database, PostgreSQL locks the row)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def load(self, subject_id: str, *, for_update: bool = False) -> SubjectRecord:
        found = self.load_existing(subject_id, for_update=for_update)
        return EMPTY if found is None else found

    def load_existing(self, subject_id: str, *, for_update: bool = False) -> SubjectRecord | None:
        """The stored state, or ``None`` when the subject has no state row (yet, or at all)."""
        query = _LOCK if for_update and self.connection.dialect.name == "postgresql" else _LOAD
        document = self.connection.scalar(query, {"subject_id": subject_id})
        return None if document is None else decode(document)

    def start(self, subject_id: str, now: dt.datetime) -> None:
        """The empty state of a new subject (every current subject has one)."""
        self.connection.execute(
            insert(subject_states).values(
                subject_id=subject_id, state=encode(EMPTY), updated_at=now
            )
        )
        self.connection.execute(
            insert(decision_states).values(subject_id=subject_id, **project(EMPTY))
        )

    def load_many(
        self, subject_ids: Sequence[str], *, for_update: bool = False
    ) -> dict[str, SubjectRecord]:
        """The stored states of those subjects that have one, in one statement."""
        query = (
            _LOCK_MANY
            if for_update and self.connection.dialect.name == "postgresql"
            else _LOAD_MANY
        )
        rows = self.connection.execute(query, {"ids": list(subject_ids)})
        return {row.subject_id: decode(row.state) for row in rows}

    def save(self, subject_id: str, state: SubjectRecord, now: dt.datetime) -> None:
        done = self.connection.execute(
            _SAVE, {"b_subject_id": subject_id, "b_state": encode(state), "b_updated_at": now}
        )
        if done.rowcount == 0:
            raise LookupError(f"subject {subject_id} has no state row")
        self.connection.execute(
            _SAVE_PROJECTION,
            {"b_subject_id": subject_id, **{f"b_{k}": v for k, v in project(state).items()}},
        )

    def record_consents(
        self,
        subject_id: str,
        entries: Iterable[LedgerEntry],
        now: dt.datetime,
        state: SubjectRecord | None = None,
    ) -> tuple[SubjectRecord, list[int]]:
        """Append consent events and fold them into the state; return it and the event ids.

        ``state`` is the subject's state when the caller has already loaded it in this
        transaction (with ``for_update=True``); otherwise it is loaded (and locked) here.
        """
        if state is None:
            state = self.load(subject_id, for_update=True)
        return self.record_many([(subject_id, state, list(entries))], now)[0]

    def record_many(
        self,
        batch: Sequence[tuple[str, SubjectRecord, Sequence[LedgerEntry]]],
        now: dt.datetime,
    ) -> list[tuple[SubjectRecord, list[int]]]:
        """``record_consents`` for several subjects (each once, its state loaded and locked in
        this transaction), with one statement per table however many events there are."""
        if not batch:
            return []
        rows = [
            {
                "subject_id": subject_id,
                "brand": entry.event.brand,
                "purpose": entry.event.purpose,
                "purpose_version": entry.event.purpose_version,
                "action": entry.event.action.value,
                "notice_hash": entry.notice_hash,
                "policy_version": entry.policy_version,
                "touchpoint": entry.touchpoint,
                "submission_id": entry.submission_id,
                "method": entry.method,
                "occurred_at": entry.event.occurred_at,
                "channel": entry.event.channel,
                "language": entry.language,
                "jurisdiction": entry.jurisdiction,
                "text_version": entry.text_version,
            }
            for subject_id, _, entries in batch
            for entry in entries
        ]
        ids = iter(
            [int(row[0]) for row in self.connection.execute(_INSERT_EVENTS, rows)] if rows else ()
        )
        outcomes = []
        for _, state, entries in batch:
            consents = state.decision.consents
            for entry in entries:
                consents = apply_event(consents, entry.event)
            state = replace(state, decision=replace(state.decision, consents=consents))
            outcomes.append((state, [next(ids) for _ in entries]))
        saved = [
            (subject_id, state)
            for (subject_id, _, _), (state, _) in zip(batch, outcomes, strict=True)
        ]
        states = [
            {"b_subject_id": subject_id, "b_state": encode(state), "b_updated_at": now}
            for subject_id, state in saved
        ]
        projections = [
            {"b_subject_id": subject_id, **{f"b_{k}": v for k, v in project(state).items()}}
            for subject_id, state in saved
        ]
        # One row goes as a plain execute: an executemany costs more round trips on PostgreSQL.
        done = self.connection.execute(_SAVE, states[0] if len(states) == 1 else states)
        if self.connection.dialect.supports_sane_multi_rowcount and done.rowcount != len(saved):
            raise LookupError("a subject has no state row")
        self.connection.execute(
            _SAVE_PROJECTION, projections[0] if len(projections) == 1 else projections
        )
        return outcomes

    def record_preference(
        self, subject_id: str, entry: PreferenceEntry, state: SubjectRecord, now: dt.datetime
    ) -> None:
        """Append a preference event and store ``state``, the caller's outcome of it."""
        self.connection.execute(
            insert(preference_events).values(
                subject_id=subject_id,
                kind=entry.kind,
                brand=entry.brand,
                purpose=entry.purpose,
                channel=entry.channel,
                method=entry.method,
                occurred_at=entry.occurred_at,
            )
        )
        self.save(subject_id, state, now)
