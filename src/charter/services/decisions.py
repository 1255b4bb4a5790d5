"""Decisions: may this purpose use this person's data now? Reads the compact state only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select

from charter.domain.consent import ANY_CHANNEL
from charter.domain.decisions import Decision, PurposeRule, SubjectState, decide
from charter.domain.errors import InvalidInput
from charter.domain.preferences import SubjectRecord
from charter.manifest.models import Manifest
from charter.services.brands import require_brand
from charter.services.identify import hash_identities, locate
from charter.services.rules import compile_rules
from charter.storage.ledger import decode, decode_for_decision
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import subject_aliases, subject_states, subjects

_CHUNK = 500

# Built once (constructing a statement costs more than running it; the compiled form is cached).
_SUBJECT_STATES = subjects.outerjoin(subject_states, subject_states.c.subject_id == subjects.c.id)
_STATES_IN = (
    select(subjects.c.id, subject_states.c.state)
    .select_from(_SUBJECT_STATES)
    .where(subjects.c.id.in_(bindparam("ids", expanding=True)))
)
# The subject's current id (following a merge) and its state, in one statement.
_STATE_OF = (
    select(subjects.c.id, subject_states.c.state)
    .select_from(_SUBJECT_STATES)
    .where(
        subjects.c.id
        == func.coalesce(
            select(subject_aliases.c.subject_id)
            .where(subject_aliases.c.alias_id == bindparam("subject_id"))
            .scalar_subquery(),
            bindparam("subject_id"),
        )
    )
)


class DecisionService:
    def __init__(self, manifest: Manifest, store: Store) -> None:
        self.manifest = manifest
        self.store = store
        self.rules: dict[str, PurposeRule] = compile_rules(manifest)

    def record_of(
        self, subject_id: str | None = None, identities: dict[str, Any] | None = None
    ) -> tuple[str | None, SubjectRecord | None]:
        """The subject's current id and record, or ``(None, None)`` when nobody is known."""
        if (identities is None) == (subject_id is None):
            raise InvalidInput("give identities or subject_id, not both", code="identity_required")
        with self.store.read() as connection:
            if identities is not None:
                hashed = hash_identities(
                    self.store.vault, identities, self.manifest.policy.default_phone_region
                )
                subject_id = locate(SubjectRepository(connection, self.store.vault), hashed)
                if subject_id is None:
                    return None, None
            assert subject_id is not None
            records = self._records(connection, [subject_id])
            found = records.get(subject_id)
            if found is None:
                alias = connection.scalar(
                    select(subject_aliases.c.subject_id).where(
                        subject_aliases.c.alias_id == subject_id
                    )
                )
                if alias is None:
                    return None, None
                return alias, self._records(connection, [alias]).get(alias)
            return subject_id, found

    @staticmethod
    def _records(connection: Any, subject_ids: Sequence[str]) -> dict[str, SubjectRecord]:
        rows = connection.execute(_STATES_IN, {"ids": list(subject_ids)})
        return {row.id: decode(row.state) for row in rows}

    def decide(
        self,
        brand: str,
        purpose: str,
        categories: Sequence[str],
        subject_id: str | None = None,
        identities: dict[str, Any] | None = None,
        channel: str = ANY_CHANNEL,
    ) -> Decision:
        require_brand(self.manifest, brand)
        rule = self.rules.get(purpose)
        if rule is None:
            return decide(None, None, categories, brand, channel)
        if identities is None and subject_id is not None:
            # The hot path: one statement resolves the id and reads only this purpose's part.
            with self.store.snapshot() as connection:
                row = connection.execute(_STATE_OF, {"subject_id": subject_id}).first()
            found = None if row is None else decode_for_decision(row.state, brand, rule.key)
            return decide(rule, found, categories, brand, channel)
        _, record = self.record_of(subject_id, identities)
        state = record.decision if record is not None else None
        return decide(rule, state, categories, brand, channel)

    def decide_many(
        self, brand: str, purpose: str, categories: Sequence[str], subject_ids: Sequence[str]
    ) -> list[Decision]:
        """One purpose for many subjects (a marketing send, an analytics job), in id order.

        Subjects merged into another are not followed here: batch callers hold current ids.
        """
        require_brand(self.manifest, brand)
        rule = self.rules.get(purpose)
        states: dict[str, SubjectState] = {}
        if rule is not None:
            key = rule.key
            with self.store.read() as connection:
                for start in range(0, len(subject_ids), _CHUNK):
                    chunk = list(subject_ids[start : start + _CHUNK])
                    for row in connection.execute(_STATES_IN, {"ids": chunk}):
                        states[row.id] = decode_for_decision(row.state, brand, key)
        return [decide(rule, states.get(sid), categories, brand) for sid in subject_ids]
