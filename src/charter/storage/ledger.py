"""The consent ledger and the compact subject state, written together in one transaction.

Events are appended (never updated); the state row that decisions read is updated in the same
transaction, so a committed event is always reflected, and an acknowledged write survives a
crash (SQLite ``synchronous=FULL``, PostgreSQL's WAL). The state is stored as small JSON:

    {"v": 1, "c": [[brand, purpose, channel, action, version, at], ...],
     "o": [objected purpose keys], "r": restricted, "m": minor, "p": parental consent,
     "u": [[brand, channel] unsubscribed], "g": sale/sharing opt-out (GPC)}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, insert, select, update

from charter.domain.consent import ConsentAction, ConsentEvent, ConsentRecord, apply_event
from charter.domain.decisions import SubjectState
from charter.domain.preferences import SubjectRecord
from charter.storage.tables import consent_events, preference_events, subject_states

EMPTY = SubjectRecord()


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def decode(document: dict[str, Any] | None) -> SubjectRecord:
    if not document:
        return EMPTY
    consents = {
        (brand, purpose, channel): ConsentRecord(
            ConsentAction(action), int(version), _utc(dt.datetime.fromisoformat(at))
        )
        for brand, purpose, channel, action, version, at in document.get("c", [])
    }
    return SubjectRecord(
        decision=SubjectState(
            consents=consents,
            objections=frozenset(document.get("o", [])),
            restricted=bool(document.get("r", False)),
            minor=bool(document.get("m", False)),
            parental_consent=bool(document.get("p", False)),
        ),
        unsubscribed=frozenset((b, c) for b, c in document.get("u", [])),
        sale_opt_out=bool(document.get("g", False)),
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
        "p": decision.parental_consent,
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
        query = select(subject_states.c.state).where(subject_states.c.subject_id == subject_id)
        if for_update and self.connection.dialect.name == "postgresql":
            query = query.with_for_update()
        return decode(self.connection.scalar(query))

    def save(self, subject_id: str, state: SubjectRecord, now: dt.datetime) -> None:
        document = encode(state)
        done = self.connection.execute(
            update(subject_states)
            .where(subject_states.c.subject_id == subject_id)
            .values(state=document, updated_at=now)
        )
        if done.rowcount == 0:
            self.connection.execute(
                insert(subject_states).values(subject_id=subject_id, state=document, updated_at=now)
            )

    def record_consents(
        self, subject_id: str, entries: Iterable[LedgerEntry], now: dt.datetime
    ) -> tuple[SubjectRecord, list[int]]:
        """Append consent events and fold them into the state; return it and the event ids."""
        state = self.load(subject_id, for_update=True)
        consents = state.decision.consents
        ids = []
        for entry in entries:
            event = entry.event
            result = self.connection.execute(
                insert(consent_events).values(
                    subject_id=subject_id,
                    brand=event.brand,
                    purpose=event.purpose,
                    purpose_version=event.purpose_version,
                    action=event.action.value,
                    notice_hash=entry.notice_hash,
                    policy_version=entry.policy_version,
                    touchpoint=entry.touchpoint,
                    submission_id=entry.submission_id,
                    method=entry.method,
                    occurred_at=event.occurred_at,
                    channel=event.channel,
                    language=entry.language,
                    jurisdiction=entry.jurisdiction,
                )
            )
            primary_key = result.inserted_primary_key
            assert primary_key is not None
            ids.append(int(primary_key[0]))
            consents = apply_event(consents, event)
        state = replace(state, decision=replace(state.decision, consents=consents))
        self.save(subject_id, state, now)
        return state, ids

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
