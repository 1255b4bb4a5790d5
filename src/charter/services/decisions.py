"""Decisions: may this purpose use this person's data now? Reads the compact state only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, func, select

from charter.domain.consent import ANY_CHANNEL
from charter.domain.decisions import Decision, PurposeRule, decide
from charter.domain.errors import InvalidInput
from charter.domain.preferences import SubjectRecord
from charter.manifest.models import Manifest
from charter.services.brands import require_brand
from charter.services.identify import hash_identities, locate
from charter.services.rules import compile_rules
from charter.storage.ledger import consent_slice, decision_state, decode
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import decision_states, subject_aliases, subject_states

_CHUNK = 500

# Built once (constructing a statement costs more than running it; the compiled form is cached).
_PROJECTION = (
    decision_states.c.subject_id,
    decision_states.c.flags,
    decision_states.c.objections,
    decision_states.c.consent_index,
)
_PROJECTIONS_IN = select(*_PROJECTION).where(
    decision_states.c.subject_id.in_(bindparam("ids", expanding=True))
)
# The subject's current id (following a merge) and its projection, in one statement.
_PROJECTION_OF = select(*_PROJECTION).where(
    decision_states.c.subject_id
    == func.coalesce(
        select(subject_aliases.c.subject_id)
        .where(subject_aliases.c.alias_id == bindparam("subject_id"))
        .scalar_subquery(),
        bindparam("subject_id"),
    )
)
_STATE_OF = select(subject_states.c.state).where(
    subject_states.c.subject_id == bindparam("subject_id")
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
            current = SubjectRepository(connection, self.store.vault).resolve(subject_id)
            if current is None:
                return None, None
            return current, decode(connection.scalar(_STATE_OF, {"subject_id": current}))

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
            # The hot path: one statement resolves the id and reads the projection.
            with self.store.snapshot() as connection:
                row = connection.execute(_PROJECTION_OF, {"subject_id": subject_id}).first()
            found = None
            if row is not None:
                consents = consent_slice(row.consent_index, brand, rule.key)
                found = decision_state(row.flags, row.objections, consents)
            return decide(rule, found, categories, brand, channel)
        _, record = self.record_of(subject_id, identities)
        state = record.decision if record is not None else None
        return decide(rule, state, categories, brand, channel)

    def decide_many(
        self, brand: str, purpose: str, categories: Sequence[str], subject_ids: Sequence[str]
    ) -> list[Decision]:
        """One purpose for many subjects (a marketing send, an analytics job), in id order.

        Subjects merged into another are not followed here: batch callers hold current ids.
        Subjects with the same flags, objections and consents to this purpose get the same
        decision, so each distinct combination is decided once (there are a handful).
        """
        require_brand(self.manifest, brand)
        rule = self.rules.get(purpose)
        if rule is None:
            return [decide(None, None, categories, brand)] * len(subject_ids)
        key = rule.key
        unknown = decide(rule, None, categories, brand)
        found: dict[str, Decision] = {}
        decided: dict[tuple[int, str | None, str], Decision] = {}
        with self.store.read() as connection:
            for start in range(0, len(subject_ids), _CHUNK):
                chunk = sorted(subject_ids[start : start + _CHUNK])
                rows = connection.execute(_PROJECTIONS_IN, {"ids": chunk}).all()
                for subject_id, flags, objections, index in rows:
                    combination = (flags, objections, consent_slice(index, brand, key))
                    decision = decided.get(combination)
                    if decision is None:
                        state = decision_state(*combination)
                        decision = decided[combination] = decide(rule, state, categories, brand)
                    found[subject_id] = decision
        return [found.get(subject_id, unknown) for subject_id in subject_ids]
