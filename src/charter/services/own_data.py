"""A rights request's work in Charter's own store: the values, identities, consents and
preferences it holds about a person (GDPR Art. 15-21). Used by ``charter.services.rights``; each
method is one step, safe to run twice.

Legal holds: a value collected at a touchpoint and of a category a hold names (order records
kept for tax law) is kept while the hold's period since collection runs, and the person is then
restricted (only storage and legal claims); everything else is erased.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, select, update

from charter.domain.categories import covered_by_any
from charter.domain.clock import Clock
from charter.domain.consent import CUSTOMER_CHANNEL, GRANTING, ConsentMethod
from charter.domain.credentials import is_credential
from charter.domain.durations import parse_duration
from charter.domain.preferences import set_restricted
from charter.manifest.models import Manifest
from charter.services.consents import ConsentRequest, ConsentService
from charter.services.credentials import conceal_values, credential_fields
from charter.services.preferences import PreferenceService
from charter.services.prior_notices import notices_of
from charter.services.sources import sources_of
from charter.storage.engine import utc
from charter.storage.ledger import Ledger
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import (
    consent_events,
    identities,
    personal_values,
    preference_events,
    prior_notices_sent,
    source_receipts,
    subjects,
)
from charter.storage.vault import Vault

CHARTER = "charter"
"""The name Charter's own store goes by in a request's steps."""

StepResult = tuple[Any, dict[str, Any]]
"""A step's sealed result (or None) and its summary without personal data."""


class OwnData:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        consents: ConsentService,
        preferences: PreferenceService,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.consents = consents
        self.preferences = preferences
        self._holds = {hold.key: hold for hold in manifest.retention.legal_holds}

    def collect(self, connection: Connection, row: Any) -> StepResult:
        """Everything Charter holds about the person, read in the caller's transaction (the
        one that records the step done, so the step costs one transaction)."""
        if row.subject_id is None:
            return {"values": [], "identities": [], "consents": [], "preferences": []}, {
                "values": 0
            }
        repo = SubjectRepository(connection, self.store.vault)
        subject_id = repo.resolve(row.subject_id)
        if subject_id is None:
            return {"values": [], "identities": [], "consents": [], "preferences": []}, {
                "values": 0
            }
        # A password's hash never enters the step's result: only that one is set, and when.
        values = conceal_values(
            self.manifest,
            [
                {**value, "collected_at": utc(value["collected_at"]).isoformat()}
                for value in repo.values_of(subject_id)
            ],
        )
        identities = [{"kind": k, "value": v} for k, v in repo.identities_of(subject_id)]
        consents = [
            {
                "brand": e.brand,
                "purpose": e.purpose,
                "channel": e.channel,
                "action": e.action,
                "at": utc(e.occurred_at).isoformat(),
                "method": e.method,
                "policy_version": e.policy_version,
            }
            for e in connection.execute(
                select(consent_events)
                .where(consent_events.c.subject_id == subject_id)
                .order_by(consent_events.c.id)
            )
        ]
        preferences = [
            {
                "kind": e.kind,
                "brand": e.brand,
                "purpose": e.purpose,
                "channel": e.channel,
                "at": utc(e.occurred_at).isoformat(),
            }
            for e in connection.execute(
                select(preference_events)
                .where(preference_events.c.subject_id == subject_id)
                .order_by(preference_events.c.id)
            )
        ]
        prior = notices_of(connection, self.manifest, subject_id)
        sources = sources_of(connection, self.manifest, subject_id)
        result = {
            "values": values,
            "identities": identities,
            "consents": consents,
            "preferences": preferences,
            "prior_notices": prior,
            "sources": sources,
        }
        return result, {"values": len(values), "consents": len(consents)}

    def erase(self, connection: Connection, row: Any) -> StepResult:
        """Delete the person from Charter's store, keeping only values under a legal hold
        (those are minimised to the hold's categories and the person restricted), in the
        caller's transaction (the one that records the step done: the erasure and its record
        commit together). The step's result (sealed under the request's key, destroyed when it
        closes) is the identities deleted, so that the mail naming them can be forgotten once
        the request is done."""
        now = self.clock()
        repo = SubjectRepository(connection, self.store.vault)
        subject_id = repo.resolve(row.subject_id) if row.subject_id else None
        if subject_id is None:
            return None, {"erased": False, "reason": "no data held"}
        held: dict[str, list[str]] = {}
        for kind, identity in repo.identities_of(subject_id):
            held.setdefault(kind, []).append(identity)
        kept: list[dict[str, Any]] = []
        erased: list[int] = []
        for value in connection.execute(
            select(
                personal_values.c.id,
                personal_values.c.touchpoint,
                personal_values.c.category,
                personal_values.c.collected_at,
            ).where(personal_values.c.subject_id == subject_id)
        ):
            hold = self._hold_for(value.touchpoint, value.category, utc(value.collected_at), now)
            if hold is None:
                erased.append(value.id)
            else:
                kept.append({"category": value.category, "touchpoint": value.touchpoint, **hold})
        if erased:
            connection.execute(delete(personal_values).where(personal_values.c.id.in_(erased)))
        if not kept:
            # The subject row carries the wrapped data key: deleting it shreds every
            # ciphertext of the person, and cascades to all their rows.
            connection.execute(delete(subjects).where(subjects.c.id == subject_id))
            return {"identities": held}, {
                "erased": True,
                "values_erased": len(erased),
                "subject_deleted": True,
            }
        # The notices sent to the person and where their data came from go with their
        # consents; the held values' submissions stay, so their receipts are deleted here.
        for table in (consent_events, preference_events, prior_notices_sent, source_receipts):
            connection.execute(delete(table).where(table.c.subject_id == subject_id))
        connection.execute(delete(identities).where(identities.c.subject_id == subject_id))
        ledger = Ledger(connection)
        state = ledger.load(subject_id, for_update=True)
        ledger.save(subject_id, set_restricted(state, True), now)
        return {"identities": held}, {
            "erased": True,
            "values_erased": len(erased),
            "subject_deleted": False,
            "kept": kept,
        }

    def restrict(self, row: Any, details: Mapping[str, Any]) -> StepResult:
        if row.subject_id is None:
            return None, {"changed": False, "reason": "no data held"}
        outcome = self.preferences.restrict(True, subject_id=row.subject_id, method="api")
        return None, {"changed": outcome.changed}

    def object(self, row: Any, details: Mapping[str, Any]) -> StepResult:
        if row.subject_id is None:
            return None, {"changed": False, "reason": "no data held"}
        purpose = details.get("details", {}).get("purpose")
        outcome = self.preferences.object(purpose, subject_id=row.subject_id)
        return None, {"changed": outcome.changed, "purpose": purpose or "direct marketing"}

    def withdraw(self, row: Any, details: Mapping[str, Any]) -> StepResult:
        """Withdraw every consent in force (or those of ``details.purpose`` / ``brand``)."""
        if row.subject_id is None:
            return None, {"withdrawn": 0, "reason": "no data held"}
        wanted = details.get("details", {})
        with self.store.read() as connection:
            subject_id = SubjectRepository(connection, self.store.vault).resolve(row.subject_id)
            state = Ledger(connection).load(subject_id) if subject_id else None
        withdrawn = 0
        if subject_id is not None and state is not None:
            for (brand, purpose, channel), record in sorted(state.decision.consents.items()):
                if record.action not in GRANTING or channel == CUSTOMER_CHANNEL:
                    continue  # a soft opt-in is no consent: an objection ends it (Art. 21)
                if wanted.get("purpose") not in (None, purpose) or wanted.get("brand") not in (
                    None,
                    brand,
                ):
                    continue
                self.consents.record(
                    ConsentRequest(
                        brand,
                        purpose,
                        "withdraw",
                        method=ConsentMethod.API.value,
                        channel=channel,
                        subject_id=subject_id,
                    )
                )
                withdrawn += 1
        return None, {"withdrawn": withdrawn}

    def rectify(self, row: Any, details: Mapping[str, Any]) -> StepResult:
        """Correct Charter's stored values of the named fields (Art. 16), old values kept in
        the step's sealed result for the history."""
        changes: Mapping[str, Any] = details.get("details", {}).get("changes", {}).get(CHARTER, {})
        # Refused at intake (charter.services.credentials.refuse_credential_changes); here too,
        # so that no path writes a password in clear or copies its hash into the history.
        secret = credential_fields(self.manifest)
        changes = {name: new for name, new in changes.items() if name not in secret}
        if row.subject_id is None:
            return [], {"rows": 0, "reason": "no data held"}
        now = self.clock()
        history = []
        with self.store.write() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            subject_id = repo.resolve(row.subject_id)
            if subject_id is None:
                return [], {"rows": 0, "reason": "no data held"}
            data_key = repo.data_key(subject_id)
            for value in connection.execute(
                select(personal_values).where(
                    personal_values.c.subject_id == subject_id,
                    personal_values.c.field.in_(list(changes)),
                )
            ).all():
                if is_credential(value.category):
                    continue
                label = f"value:{value.touchpoint}.{value.field}"
                old = Vault.open(data_key, subject_id, label, bytes(value.value_sealed))
                new = changes[value.field]
                connection.execute(
                    update(personal_values)
                    .where(personal_values.c.id == value.id)
                    .values(
                        value_sealed=Vault.seal(data_key, subject_id, label, new),
                        last_activity_at=now,
                    )
                )
                history.append(
                    {"field": value.field, "touchpoint": value.touchpoint, "old": old, "new": new}
                )
        unknown = sorted(set(changes) - {h["field"] for h in history})
        return history, {"rows": len(history), "fields_not_held": unknown}

    def _hold_for(
        self, touchpoint: str, category: str, collected_at: dt.datetime, now: dt.datetime
    ) -> dict[str, Any] | None:
        """The legal hold keeping a value, if one applies now (touchpoint and category match
        and its period since collection has not run out)."""
        for hold in self._holds.values():
            if touchpoint in hold.touchpoints and covered_by_any(category, hold.categories):
                until = parse_duration(hold.period).after(collected_at)
                if until > now:
                    return {"hold": hold.key, "law": hold.law, "until": until.date().isoformat()}
        return None
