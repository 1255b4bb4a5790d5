"""Recording consent: give, withdraw, refuse; one purpose per event (no bundling, Art. 7(2))."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection

from charter.domain.clock import Clock
from charter.domain.consent import (
    Channel,
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    notice_hash,
    switched_off,
)
from charter.domain.errors import InvalidInput, InvalidValue
from charter.manifest.models import LegalBasis, Manifest
from charter.services.brands import require_brand
from charter.services.identify import Hashed, find_or_create, hash_identities
from charter.services.values import printable
from charter.storage.group import GroupCommit
from charter.storage.ledger import Ledger, LedgerEntry, keep_notice
from charter.storage.store import Store
from charter.storage.subjects import IdentityKey, SubjectRepository

ACTIONS = {
    "give": ConsentAction.GIVEN,
    "withdraw": ConsentAction.WITHDRAWN,
    "refuse": ConsentAction.REFUSED,
    "expire": ConsentAction.EXPIRED,  # Charter's own, when a consent outlives its term
    # A switch turned off (a cookie banner): withdrawn if the consent stood, else refused,
    # decided against the state locked in the writing transaction.
    "switch_off": ConsentAction.REFUSED,
}


@dataclass(frozen=True)
class ConsentRequest:
    brand: str
    purpose: str
    action: str
    method: str = ConsentMethod.API.value
    notice: str | None = None
    channel: str = Channel.ANY.value
    identities: dict[str, Any] | None = None
    subject_id: str | None = None
    touchpoint: str | None = None
    language: str | None = None
    jurisdiction: str | None = None
    text_version: str | None = None


@dataclass(frozen=True)
class RecordedConsent:
    event_id: int
    subject_id: str
    action: ConsentAction


class ConsentService:
    def __init__(self, manifest: Manifest, store: Store, clock: Clock) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        # Hashes of notices known to be committed: notices are never deleted, so a known one
        # needs no statement (added only after the commit that kept it).
        self._notices: set[str] = set()
        self._writer: GroupCommit[tuple[_Pending, ...], list[RecordedConsent]] = GroupCommit(
            store, self._write
        )

    def _event(self, request: ConsentRequest) -> tuple[ConsentEvent, str, str]:
        manifest = self.manifest
        require_brand(manifest, request.brand)
        purpose = manifest.purposes.get(request.purpose)
        if purpose is None:
            raise InvalidInput(
                f"no purpose '{request.purpose}' in the manifest", code="unknown_purpose"
            )
        if purpose.legal_basis is not LegalBasis.CONSENT:
            raise InvalidInput(
                f"purpose '{request.purpose}' rests on {purpose.legal_basis.value}, not consent; "
                "to stop it, object instead",
                code="not_a_consent_purpose",
            )
        action = ACTIONS.get(request.action)
        if action is None:
            raise InvalidValue(f"action must be one of {', '.join(ACTIONS)}")
        try:
            ConsentMethod(request.method)
            Channel(request.channel)
        except ValueError:
            raise InvalidValue(
                f"method must be one of {', '.join(m.value for m in ConsentMethod)} and channel "
                f"one of {', '.join(c.value for c in Channel)}"
            ) from None
        if request.method == ConsentMethod.PARENTAL_EMAIL or request.channel == Channel.PARENT:
            raise InvalidInput(
                "a parent's consent is recorded only when the parent confirms through the link "
                "Charter e-mails them (ask for it with a submission's 'parent')",
                code="parental_consent_by_email_only",
            )
        if request.method == ConsentMethod.SOFT_OPT_IN or request.channel == Channel.CUSTOMER:
            # A soft opt-in is no consent: only a sale or registration establishes it.
            raise InvalidInput(
                "the customer channel records a soft opt-in, which only a submission at a "
                "touchpoint the purpose names establishes (ePrivacy Directive Art. 13(2))",
                code="soft_opt_in_by_collection_only",
            )
        if request.touchpoint is not None and request.touchpoint not in manifest.touchpoints:
            raise InvalidInput(f"no touchpoint '{request.touchpoint}'", code="unknown_touchpoint")
        for where, text in (
            ("notice", request.notice),
            ("language", request.language),
            ("jurisdiction", request.jurisdiction),
            ("text_version", request.text_version),
        ):
            if text is not None:
                printable(text, where)
        notice = (request.notice or "").strip()
        if not notice:
            if action not in (ConsentAction.WITHDRAWN, ConsentAction.EXPIRED):
                raise InvalidValue("notice: the exact text shown to the person must be recorded")
            # Withdrawal and expiry need no text from the person; record the purpose's own.
            notice = purpose.notice or purpose.name
        event = ConsentEvent(
            request.brand,
            request.purpose,
            request.channel,
            action,
            purpose.notice_version,
            self.clock(),
        )
        return event, notice, request.method

    def record(self, request: ConsentRequest) -> RecordedConsent:
        """Record one event; returns once it is committed (concurrent calls share commits)."""
        return self.record_all([request])[0]

    def record_all(self, requests: Sequence[ConsentRequest]) -> list[RecordedConsent]:
        """Record several events in one transaction: all of them, or none (one choice on a
        cookie banner covers several purposes). Returns once committed."""
        units = tuple(self._pending(request) for request in requests)
        recorded = self._writer.submit(units)
        self._notices.update(unit.entry.notice_hash for unit in units)
        return recorded

    def _pending(self, request: ConsentRequest) -> _Pending:
        event, notice, method = self._event(request)
        if (request.identities is None) == (request.subject_id is None):
            raise InvalidInput("give identities or subject_id, not both", code="identity_required")
        hashed = (
            hash_identities(
                self.store.vault, request.identities, self.manifest.policy.default_phone_region
            )
            if request.identities is not None
            else None
        )
        entry = LedgerEntry(
            event,
            notice_hash(notice),
            method,
            self.manifest.policy.version,
            touchpoint=request.touchpoint,
            language=request.language,
            jurisdiction=request.jurisdiction,
            text_version=request.text_version,
        )
        return _Pending(
            entry, notice, request.subject_id, hashed, switch_off=request.action == "switch_off"
        )

    def close(self) -> None:
        self._writer.close()

    def _write(
        self, connection: Connection, batches: Sequence[tuple[_Pending, ...]]
    ) -> list[list[RecordedConsent] | Exception]:
        """Apply a group of batches of consents in one transaction (``charter.storage.group``).

        A batch with a unit naming an unknown subject is refused before any consent of it is
        written.
        """
        group = [unit for units in batches for unit in units]
        batch_of = [n for n, units in enumerate(batches) for _ in units]
        repo = SubjectRepository(connection, self.store.vault)
        ledger = Ledger(connection)
        # Identities first: linking them may merge subjects that other units name by id.
        found: dict[tuple[IdentityKey, ...], str] = {}  # units naming the same identities
        targets: list[str | None] = []
        for unit in group:
            if unit.hashed is None:
                targets.append(unit.subject_id)
                continue
            keys = tuple(key for key, _ in unit.hashed)
            if keys not in found:
                found[keys] = find_or_create(repo, unit.hashed, unit.entry.event.occurred_at)
            targets.append(found[keys])
        states = ledger.load_many(sorted({t for t in targets if t is not None}), for_update=True)
        refused: dict[int, Exception] = {}
        for index, target in enumerate(targets):
            if target is None or target in states:
                continue
            # Not a current subject: merged into another (follow it), or unknown.
            current = repo.resolve(target)
            if current is None:
                error = InvalidInput(f"no subject '{target}'", code="unknown_subject")
                refused.update((i, error) for i, n in enumerate(batch_of) if n == batch_of[index])
                continue
            if current not in states:
                states.update(ledger.load_many([current], for_update=True))
            targets[index] = current
        entries = [unit.entry for unit in group]
        for index, (unit, target) in enumerate(zip(group, targets, strict=True)):
            if unit.switch_off and target in states:
                event = unit.entry.event
                standing = states[target].decision.consents.get(
                    (event.brand, event.purpose, event.channel)
                )
                entries[index] = replace(
                    unit.entry, event=replace(event, action=switched_off(standing))
                )
        notices = {
            unit.entry.notice_hash: unit
            for index, unit in enumerate(group)
            if index not in refused and unit.entry.notice_hash not in self._notices
        }
        for digest, unit in notices.items():
            keep_notice(connection, digest, unit.notice, unit.entry.event.occurred_at)
        per_subject: dict[str, list[LedgerEntry]] = {}
        for index, target in enumerate(targets):
            if index not in refused and target is not None:
                per_subject.setdefault(target, []).append(entries[index])
        batch = [(sid, states[sid], pending) for sid, pending in per_subject.items()]
        now = max(unit.entry.event.occurred_at for unit in group)
        event_ids = {
            sid: iter(ids)
            for (sid, _, _), (_, ids) in zip(batch, ledger.record_many(batch, now), strict=True)
        }
        outcomes: list[list[RecordedConsent] | Exception] = [[] for _ in batches]
        for index, target in enumerate(targets):
            done = outcomes[batch_of[index]]
            if index in refused or target is None:
                outcomes[batch_of[index]] = refused[index]
            elif isinstance(done, list):
                done.append(
                    RecordedConsent(next(event_ids[target]), target, entries[index].event.action)
                )
        return outcomes


@dataclass(frozen=True, slots=True)
class _Pending:
    """One consent waiting for its group's transaction."""

    entry: LedgerEntry
    notice: str
    subject_id: str | None
    hashed: Hashed | None
    switch_off: bool = False
