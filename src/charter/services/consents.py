"""Recording consent: give, withdraw, refuse; one purpose per event (no bundling, Art. 7(2))."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from charter.domain.clock import Clock
from charter.domain.consent import Channel, ConsentAction, ConsentEvent, ConsentMethod
from charter.domain.errors import InvalidInput, InvalidValue
from charter.manifest.models import LegalBasis, Manifest
from charter.services.brands import require_brand
from charter.services.collection import notice_hash
from charter.services.identify import find_or_create, hash_identities
from charter.storage.ledger import Ledger, LedgerEntry, keep_notice
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository

ACTIONS = {
    "give": ConsentAction.GIVEN,
    "withdraw": ConsentAction.WITHDRAWN,
    "refuse": ConsentAction.REFUSED,
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
        if request.touchpoint is not None and request.touchpoint not in manifest.touchpoints:
            raise InvalidInput(f"no touchpoint '{request.touchpoint}'", code="unknown_touchpoint")
        notice = (request.notice or "").strip()
        if not notice:
            if action is not ConsentAction.WITHDRAWN:
                raise InvalidValue("notice: the exact text shown to the person must be recorded")
            # Withdrawal needs no text from the person; record the purpose's own notice.
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
        now = event.occurred_at
        digest = notice_hash(notice)
        with self.store.write() as connection:
            ledger = Ledger(connection)
            state = None
            if hashed is not None:
                subject_id = find_or_create(
                    SubjectRepository(connection, self.store.vault), hashed, now
                )
            else:
                assert request.subject_id is not None
                # A state row exists only for a current subject (it cascades with it), so one
                # locked read both resolves the id and loads the state in the common case.
                state = ledger.load_existing(request.subject_id, for_update=True)
                if state is not None:
                    subject_id = request.subject_id
                else:
                    found = SubjectRepository(connection, self.store.vault).resolve(
                        request.subject_id
                    )
                    if found is None:
                        raise InvalidInput(
                            f"no subject '{request.subject_id}'", code="unknown_subject"
                        )
                    subject_id = found
            if digest not in self._notices:
                keep_notice(connection, digest, notice, now)
            entry = LedgerEntry(
                event,
                digest,
                method,
                self.manifest.policy.version,
                touchpoint=request.touchpoint,
                language=request.language,
                jurisdiction=request.jurisdiction,
            )
            _, ids = ledger.record_consents(subject_id, [entry], now, state=state)
        self._notices.add(digest)
        return RecordedConsent(ids[0], subject_id, event.action)
