"""Subjects, their identities and their collected values. Repositories never commit."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_, update

from charter.domain.preferences import merge_records
from charter.storage.ledger import Ledger
from charter.storage.tables import (
    consent_events,
    identities,
    notices,
    parental_consents,
    personal_values,
    preference_events,
    prior_notices_sent,
    republications,
    source_receipts,
    subject_aliases,
    subjects,
    submissions,
    visibility_choices,
)
from charter.storage.vault import Vault


@dataclass(frozen=True, slots=True)
class IdentityKey:
    kind: str
    lookup_hash: bytes


@dataclass(frozen=True, slots=True)
class NewValue:
    field: str
    category: str
    purposes: list[str]
    value: Any


def _label(row: Any) -> str:
    """The associated-data label a sealed identity or value was encrypted under."""
    if hasattr(row, "touchpoint"):
        return f"value:{row.touchpoint}.{row.field}"
    return f"identity:{row.kind}"


class SubjectRepository:
    """Reads and writes one connection's subjects; the caller owns the transaction."""

    def __init__(self, connection: Connection, vault: Vault) -> None:
        self.connection = connection
        self.vault = vault
        self._keys: dict[str, bytes] = {}

    def owners(self, keys: Sequence[IdentityKey]) -> dict[IdentityKey, str]:
        """The subject holding each identity that is already known."""
        if not keys:
            return {}
        rows = self.connection.execute(
            select(identities.c.kind, identities.c.lookup_hash, identities.c.subject_id).where(
                tuple_(identities.c.kind, identities.c.lookup_hash).in_(
                    [(key.kind, key.lookup_hash) for key in keys]
                )
            )
        )
        return {IdentityKey(row.kind, bytes(row.lookup_hash)): row.subject_id for row in rows}

    def resolve(self, subject_id: str) -> str | None:
        """The current id of a subject, following merges; ``None`` when unknown."""
        if self.connection.scalar(select(subjects.c.id).where(subjects.c.id == subject_id)):
            return subject_id
        return self.connection.scalar(
            select(subject_aliases.c.subject_id).where(subject_aliases.c.alias_id == subject_id)
        )

    def create(self, now: dt.datetime) -> str:
        subject_id = str(uuid.uuid4())
        data_key = self.vault.new_data_key()
        self.connection.execute(
            insert(subjects).values(
                id=subject_id,
                wrapped_key=self.vault.wrap(subject_id, data_key),
                key_id=self.vault.key_id,
                created_at=now,
                updated_at=now,
            )
        )
        Ledger(self.connection).start(subject_id, now)
        self._keys[subject_id] = data_key
        return subject_id

    def data_key(self, subject_id: str) -> bytes:
        if subject_id not in self._keys:
            wrapped = self.connection.scalar(
                select(subjects.c.wrapped_key).where(subjects.c.id == subject_id)
            )
            if wrapped is None:
                raise LookupError(subject_id)
            self._keys[subject_id] = self.vault.unwrap(subject_id, bytes(wrapped))
        return self._keys[subject_id]

    def oldest(self, subject_ids: Iterable[str]) -> str:
        row = self.connection.execute(
            select(subjects.c.id)
            .where(subjects.c.id.in_(list(subject_ids)))
            .order_by(subjects.c.created_at, subjects.c.id)
            .limit(1)
        ).one()
        return str(row.id)

    def merge(self, survivor: str, others: Iterable[str], now: dt.datetime) -> None:
        """Fold ``others`` into ``survivor``: identities, values and history move; ids alias.

        Sealed values are re-encrypted under the survivor's key, because each subject's key
        must cover exactly its own data for erasure by key destruction to be complete.
        """
        target_key = self.data_key(survivor)
        ledger = Ledger(self.connection)
        record = ledger.load(survivor, for_update=True)
        for other in others:
            record = merge_records(record, ledger.load(other, for_update=True))
            source_key = self.data_key(other)
            for table in (identities, personal_values):
                for row in self.connection.execute(
                    select(table).where(table.c.subject_id == other)
                ).all():
                    label = _label(row)
                    value = Vault.open(source_key, other, label, bytes(row.value_sealed))
                    resealed = Vault.seal(target_key, survivor, label, value)
                    self.connection.execute(
                        update(table)
                        .where(table.c.id == row.id)
                        .values(subject_id=survivor, value_sealed=resealed)
                    )
            for table in (
                submissions,
                consent_events,
                preference_events,
                parental_consents,
                visibility_choices,
                republications,
                prior_notices_sent,
                source_receipts,
            ):
                self.connection.execute(
                    update(table).where(table.c.subject_id == other).values(subject_id=survivor)
                )
            self.connection.execute(
                update(subject_aliases)
                .where(subject_aliases.c.subject_id == other)
                .values(subject_id=survivor)
            )
            self.connection.execute(delete(subjects).where(subjects.c.id == other))
            self.connection.execute(
                insert(subject_aliases).values(alias_id=other, subject_id=survivor, merged_at=now)
            )
            self._keys.pop(other, None)
        ledger.save(survivor, record, now)
        self.connection.execute(
            update(subjects).where(subjects.c.id == survivor).values(updated_at=now)
        )

    def add_identities(
        self,
        subject_id: str,
        new: Sequence[tuple[IdentityKey, str]],
        seen: Sequence[IdentityKey],
        now: dt.datetime,
    ) -> None:
        data_key = self.data_key(subject_id)
        if new:
            self.connection.execute(
                insert(identities),
                [
                    {
                        "subject_id": subject_id,
                        "kind": key.kind,
                        "lookup_hash": key.lookup_hash,
                        "value_sealed": Vault.seal(
                            data_key, subject_id, f"identity:{key.kind}", value
                        ),
                        "created_at": now,
                        "last_seen_at": now,
                    }
                    for key, value in new
                ],
            )
        if seen:
            self.connection.execute(
                update(identities)
                .where(
                    tuple_(identities.c.kind, identities.c.lookup_hash).in_(
                        [(key.kind, key.lookup_hash) for key in seen]
                    )
                )
                .values(last_seen_at=now)
            )

    def record_submission(
        self,
        subject_id: str,
        *,
        brand: str,
        touchpoint: str,
        policy_version: str,
        values: Sequence[NewValue],
        now: dt.datetime,
    ) -> str:
        submission_id = str(uuid.uuid4())
        self.connection.execute(
            insert(submissions).values(
                id=submission_id,
                subject_id=subject_id,
                brand=brand,
                touchpoint=touchpoint,
                policy_version=policy_version,
                received_at=now,
            )
        )
        data_key = self.data_key(subject_id)
        if values:
            self.connection.execute(
                insert(personal_values),
                [
                    {
                        "subject_id": subject_id,
                        "submission_id": submission_id,
                        "brand": brand,
                        "touchpoint": touchpoint,
                        "field": value.field,
                        "category": value.category,
                        "purposes": value.purposes,
                        "value_sealed": Vault.seal(
                            data_key, subject_id, f"value:{touchpoint}.{value.field}", value.value
                        ),
                        "collected_at": now,
                        "last_activity_at": now,
                    }
                    for value in values
                ],
            )
        self.connection.execute(
            update(subjects).where(subjects.c.id == subject_id).values(updated_at=now)
        )
        self.touch(subject_id, now)
        return submission_id

    def touch(self, subject_id: str, now: dt.datetime) -> None:
        """The person was active now: retention periods counted from the last activity start
        again for all of their values."""
        self.connection.execute(
            update(personal_values)
            .where(personal_values.c.subject_id == subject_id)
            .values(last_activity_at=now)
        )

    def store_notice(self, notice_hash: str, text: str, now: dt.datetime) -> None:
        """Keep a notice text once, keyed by its hash (consents reference it)."""
        exists = self.connection.scalar(select(notices.c.hash).where(notices.c.hash == notice_hash))
        if exists is None:
            self.connection.execute(
                insert(notices).values(hash=notice_hash, text=text, first_shown_at=now)
            )

    def open_value(self, subject_id: str, touchpoint: str, field: str, sealed: bytes) -> Any:
        """A collected value (a ``personal_values`` row's ``value_sealed``), opened under its
        subject's key; ``LookupError`` once the subject is erased."""
        return Vault.open(
            self.data_key(subject_id), subject_id, f"value:{touchpoint}.{field}", bytes(sealed)
        )

    def values_of(self, subject_id: str) -> list[dict[str, Any]]:
        """Every collected value of a subject, decrypted, oldest first."""
        rows = self.connection.execute(
            select(personal_values)
            .where(personal_values.c.subject_id == subject_id)
            .order_by(personal_values.c.id)
        )
        return [
            {
                "touchpoint": row.touchpoint,
                "brand": row.brand,
                "field": row.field,
                "category": row.category,
                "purposes": row.purposes,
                "collected_at": row.collected_at,
                "value": self.open_value(subject_id, row.touchpoint, row.field, row.value_sealed),
            }
            for row in rows
        ]

    def identities_of(self, subject_id: str) -> list[tuple[str, str]]:
        data_key = self.data_key(subject_id)
        rows = self.connection.execute(
            select(identities.c.kind, identities.c.value_sealed)
            .where(identities.c.subject_id == subject_id)
            .order_by(identities.c.id)
        )
        return [
            (
                row.kind,
                Vault.open(data_key, subject_id, f"identity:{row.kind}", bytes(row.value_sealed)),
            )
            for row in rows
        ]
