"""Objections, restriction, communication preferences and opt-out signals (GDPR Art. 18, 21;
ePrivacy Art. 13; RFC 8058 one-click unsubscribe; Global Privacy Control under CCPA/CPRA).

Every change runs in one transaction: the subject's record is loaded under lock, the pure
transition of ``domain.preferences`` computes the next one, and the ledger appends the evidence
(a ``preference_events`` row; consent events too for GPC) and stores the record together. A
change that changes nothing writes nothing, so a second unsubscribe, a repeated objection or a
browser that sends ``Sec-GPC: 1`` on every request leaves one set of events, and never an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from charter.domain.clock import Clock
from charter.domain.consent import ConsentAction, ConsentEvent, ConsentMethod, notice_hash
from charter.domain.decisions import Decision, category_allowed, decide
from charter.domain.errors import Forbidden, InvalidInput
from charter.domain.preferences import (
    CHANNEL_CATEGORIES,
    MessageChannel,
    MessageClass,
    PreferenceKind,
    SubjectRecord,
    may_send,
    object_to,
    opt_out_of_sale,
    plan_sale_opt_out,
    set_restricted,
    subscribe,
    unsubscribe,
    withdraw_objection,
)
from charter.manifest.models import LegalBasis, Manifest
from charter.services.brands import require_brand
from charter.services.decisions import DecisionService
from charter.services.identify import find_or_create, hash_identities
from charter.services.rules import is_sale_or_sharing
from charter.storage.ledger import Ledger, LedgerEntry, PreferenceEntry
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import rights_requests

UNSUBSCRIBE_SCOPE = "unsubscribe"
GPC_NOTICE = (
    "Global Privacy Control signal received (Sec-GPC: 1): opt-out of the sale and sharing of "
    "personal information and of targeted advertising."
)
LIST_UNSUBSCRIBE_POST = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class PreferenceOutcome:
    subject_id: str
    changed: bool
    record: SubjectRecord


@dataclass(frozen=True)
class UnsubscribeLink:
    subject_id: str
    brand: str
    channel: str


@dataclass(frozen=True)
class MessageCheck:
    allowed: bool
    reason: str
    purpose: str | None = None
    unsubscribe_url: str | None = None
    list_unsubscribe: str | None = None
    list_unsubscribe_post: str | None = None


Transition = Callable[[SubjectRecord], SubjectRecord]


class PreferenceService:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        decisions: DecisionService,
        public_base_url: str,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.decisions = decisions
        self.base_url = public_base_url.rstrip("/")
        purposes = manifest.purposes
        rules = decisions.rules
        self._sale_consent = [
            k
            for k, p in purposes.items()
            if is_sale_or_sharing(p) and p.legal_basis is LegalBasis.CONSENT
        ]
        self._sale_objectable = [
            k
            for k, p in purposes.items()
            if is_sale_or_sharing(p)
            and p.legal_basis is LegalBasis.LEGITIMATE_INTEREST
            and rules[k].objectable
        ]
        # Marketing purposes able to send on each channel: direct marketing that declares the
        # channel's contact category, in manifest order.
        self.marketing_purposes: dict[MessageChannel, list[str]] = {
            channel: [
                k
                for k, p in purposes.items()
                if p.direct_marketing and category_allowed(category, rules[k].categories)
            ]
            for channel, category in CHANNEL_CATEGORIES.items()
        }

    # -- objections and restriction (Art. 18, 21) ------------------------------------------

    def object(
        self,
        purpose: str | None,
        *,
        withdraw: bool = False,
        brand: str | None = None,
        identities: dict[str, Any] | None = None,
        subject_id: str | None = None,
        method: str = ConsentMethod.API.value,
    ) -> PreferenceOutcome:
        """Object to ``purpose`` (Art. 21(1)), or with ``None`` to direct marketing as a whole,
        which is absolute and blocks every marketing purpose, profiling included (Art. 21(2)-(3)).
        ``withdraw`` takes the objection back. Only objectable purposes are accepted."""
        self._check_brand(brand)
        if purpose is not None:
            rule = self.decisions.rules.get(purpose)
            if rule is None:
                raise InvalidInput(
                    f"no purpose '{purpose}' in the manifest", code="unknown_purpose"
                )
            if not rule.objectable:
                raise InvalidInput(
                    f"purpose '{purpose}' rests on {rule.basis} and cannot be objected to"
                    + ("; withdraw the consent instead" if rule.basis == "consent" else ""),
                    code="not_objectable",
                )
        if withdraw:
            kind, transition = PreferenceKind.OBJECTION_WITHDRAWN, withdraw_objection
        else:
            kind, transition = PreferenceKind.OBJECTION, object_to
        return self._change(
            lambda record: transition(record, purpose),
            kind,
            method,
            identities=identities,
            subject_id=subject_id,
            brand=brand,
            purpose=purpose,
        )

    def restrict(
        self,
        restricted: bool,
        *,
        brand: str | None = None,
        identities: dict[str, Any] | None = None,
        subject_id: str | None = None,
        method: str = ConsentMethod.API.value,
    ) -> PreferenceOutcome:
        """Restrict processing (Art. 18): every use stops except storage and legal claims;
        ``False`` lifts it."""
        self._check_brand(brand)
        kind = PreferenceKind.RESTRICTION if restricted else PreferenceKind.RESTRICTION_LIFTED
        return self._change(
            lambda record: set_restricted(record, restricted),
            kind,
            method,
            identities=identities,
            subject_id=subject_id,
            brand=brand,
        )

    # -- communication preferences ---------------------------------------------------------

    def set_subscription(
        self,
        brand: str,
        channel: str,
        subscribed: bool,
        *,
        identities: dict[str, Any] | None = None,
        subject_id: str | None = None,
        method: str = ConsentMethod.API.value,
    ) -> PreferenceOutcome:
        """Unsubscribe from (or resubscribe to) one brand's marketing on one channel. Service
        messages are not affected; resubscribing lifts only the suppression, the marketing
        purpose still needs its basis (a consent, for consent purposes)."""
        self._check_brand(brand)
        checked = _channel(channel)
        if subscribed:
            kind, transition = PreferenceKind.SUBSCRIBE, subscribe
        else:
            kind, transition = PreferenceKind.UNSUBSCRIBE, unsubscribe
        return self._change(
            lambda record: transition(record, brand, checked),
            kind,
            method,
            identities=identities,
            subject_id=subject_id,
            brand=brand,
            channel=checked,
        )

    def unsubscribe_token(self, subject_id: str, brand: str, channel: str) -> str:
        return self.store.vault.sign(UNSUBSCRIBE_SCOPE, subject_id, brand, channel)

    def unsubscribe_url(self, subject_id: str, brand: str, channel: str) -> str:
        token = self.unsubscribe_token(subject_id, brand, channel)
        return f"{self.base_url}/v1/unsubscribe?token={quote(token, safe='')}"

    def read_unsubscribe_token(self, token: str) -> UnsubscribeLink:
        """The link a token names; 403 ``invalid_token`` unless it is genuine."""
        parts = self.store.vault.verify(UNSUBSCRIBE_SCOPE, token)
        if parts is None or len(parts) != 3:
            raise Forbidden("the unsubscribe link is not valid", code="invalid_token")
        return UnsubscribeLink(*parts)

    def unsubscribe_by_link(self, token: str) -> tuple[UnsubscribeLink, bool]:
        """Perform the unsubscribe a signed link names (no login; RFC 8058). Idempotent: a
        second use changes nothing; a subject erased since the link was sent is a no-op."""
        link = self.read_unsubscribe_token(token)
        now = self.clock()
        with self.store.write() as connection:
            subject_id = SubjectRepository(connection, self.store.vault).resolve(link.subject_id)
            if subject_id is None:
                return link, False
            changed = self._apply(
                connection,
                subject_id,
                lambda record: unsubscribe(record, link.brand, link.channel),
                PreferenceEntry(
                    PreferenceKind.UNSUBSCRIBE.value,
                    ConsentMethod.EMAIL_LINK.value,
                    now,
                    brand=link.brand,
                    channel=link.channel,
                ),
                now,
            )[1]
        return link, changed

    # -- message checks --------------------------------------------------------------------

    def check_message(
        self,
        brand: str,
        channel: str,
        message_class: str,
        *,
        identities: dict[str, Any] | None = None,
        subject_id: str | None = None,
        purpose: str | None = None,
    ) -> MessageCheck:
        """May a message of ``message_class`` go to this person on ``channel`` for ``brand``?

        Non-marketing classes always go. Marketing goes only to a known person not unsubscribed
        from that brand and channel, with a valid basis and no objection under the brand's
        marketing purpose for the channel: ``purpose`` when given (it must be direct marketing),
        else every direct-marketing purpose that declares the channel's contact category
        (email address, phone number, postal address) is tried in manifest order and the first
        that allows the send is used; when none does, the first one's reason is given. An
        allowed marketing send gets its unsubscribe link (and for email the RFC 2369/8058
        headers).
        """
        self._check_brand(brand)
        checked = MessageChannel(_channel(channel))
        try:
            kind = MessageClass(message_class)
        except ValueError:
            raise InvalidInput(
                f"message_class must be one of {', '.join(c.value for c in MessageClass)}",
                code="invalid_value",
            ) from None
        if purpose is not None:
            if purpose not in self.manifest.purposes:
                raise InvalidInput(
                    f"no purpose '{purpose}' in the manifest", code="unknown_purpose"
                )
            if not self.manifest.purposes[purpose].direct_marketing:
                raise InvalidInput(
                    f"purpose '{purpose}' is not a direct-marketing purpose",
                    code="not_marketing_purpose",
                )
            candidates = [purpose]
        else:
            candidates = self.marketing_purposes[checked]
        if kind is not MessageClass.MARKETING:
            return MessageCheck(True, may_send(None, kind, brand, checked, None).reason)
        found, record = self.decisions.record_of(subject_id, identities)
        chosen, decision = self._marketing_decision(record, brand, checked, candidates)
        verdict = may_send(record, kind, brand, checked.value, decision)
        if not verdict.allowed or found is None:
            return MessageCheck(False, verdict.reason, chosen)
        url = self.unsubscribe_url(found, brand, checked.value)
        if checked is MessageChannel.EMAIL:
            # RFC 2369 List-Unsubscribe with an https URI; RFC 8058 one-click by POST to it.
            # No mailto: Charter reads no inbound mail, and a mailto nobody processes would
            # be an unsubscribe that silently fails.
            return MessageCheck(
                True, verdict.reason, chosen, url, f"<{url}>", LIST_UNSUBSCRIBE_POST
            )
        return MessageCheck(True, verdict.reason, chosen, url)

    def _marketing_decision(
        self,
        record: SubjectRecord | None,
        brand: str,
        channel: MessageChannel,
        candidates: list[str],
    ) -> tuple[str | None, Decision | None]:
        if not candidates or record is None:
            return (candidates[0] if candidates else None), None
        category = CHANNEL_CATEGORIES[channel]
        first: tuple[str, Decision] | None = None
        for key in candidates:
            rule = self.decisions.rules[key]
            decision = decide(rule, record.decision, [category], brand, channel.value)
            if decision.allowed:
                return key, decision
            first = first or (key, decision)
        assert first is not None
        return first

    # -- Global Privacy Control ------------------------------------------------------------

    def opt_out_of_sale(
        self, brand: str, subject_id: str, method: str = ConsentMethod.GPC.value
    ) -> PreferenceOutcome:
        """Record an opt-out of sale, sharing and targeted advertising for one subject and
        brand (a ``Sec-GPC: 1`` request): the record's ``sale_opt_out`` is set; every consent
        purpose whose data use is advertising or third-party sharing gets a ``withdrawn``
        (where a consent stood) or ``refused`` (never answered) consent event with method
        ``gpc``; such purposes resting on legitimate interest get an
        objection. All in one transaction; nothing is repeated once in place."""
        self._check_brand(brand)
        now = self.clock()
        policy = self.manifest.policy
        with self.store.write() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            found = repo.resolve(subject_id)
            if found is None:
                raise InvalidInput(f"no subject '{subject_id}'", code="unknown_subject")
            ledger = Ledger(connection)
            record = ledger.load(found, for_update=True)
            plan = plan_sale_opt_out(record, brand, self._sale_consent, self._sale_objectable)
            if plan.empty:
                return PreferenceOutcome(found, False, record)
            if plan.refuse or plan.withdraw:
                digest = notice_hash(GPC_NOTICE)
                repo.store_notice(digest, GPC_NOTICE, now)
                entries = [
                    LedgerEntry(
                        ConsentEvent(
                            b,
                            p,
                            c,
                            action,
                            self.manifest.purposes[p].notice_version,
                            now,
                        ),
                        digest,
                        method,
                        policy.version,
                    )
                    for action, keys in (
                        (ConsentAction.REFUSED, plan.refuse),
                        (ConsentAction.WITHDRAWN, plan.withdraw),
                    )
                    for b, p, c in keys
                ]
                record, _ = ledger.record_consents(found, entries, now)
            for purpose in plan.object_to:
                record = object_to(record, purpose)
                entry = PreferenceEntry(
                    PreferenceKind.OBJECTION.value, method, now, brand=brand, purpose=purpose
                )
                ledger.record_preference(found, entry, record, now)
            if plan.set_opt_out:
                record = opt_out_of_sale(record)
                entry = PreferenceEntry(PreferenceKind.SALE_OPT_OUT.value, method, now, brand=brand)
                ledger.record_preference(found, entry, record, now)
        return PreferenceOutcome(found, True, record)

    def opt_out_for_request(self, request_id: str) -> PreferenceOutcome | None:
        """The GPC signal on the privacy center's pages of a verified rights request: the
        person the request found on file opts out for the request's brand. ``None`` when the
        request matched nobody on file (there is nothing of theirs to sell or share) or is
        unknown; the caller has checked the person's access token."""
        with self.store.read() as connection:
            row = connection.execute(
                select(rights_requests.c.brand, rights_requests.c.subject_id).where(
                    rights_requests.c.id == request_id
                )
            ).first()
            if row is None or row.subject_id is None:
                return None
            # Merged into another subject since the request was filed (followed), or erased.
            current = SubjectRepository(connection, self.store.vault).resolve(row.subject_id)
        if current is None:
            return None
        return self.opt_out_of_sale(row.brand, current)

    # -- shared ----------------------------------------------------------------------------

    def _check_brand(self, brand: str | None) -> None:
        if brand is not None:
            require_brand(self.manifest, brand)

    def _change(
        self,
        transition: Transition,
        kind: PreferenceKind,
        method: str,
        *,
        identities: dict[str, Any] | None,
        subject_id: str | None,
        brand: str | None = None,
        purpose: str | None = None,
        channel: str | None = None,
    ) -> PreferenceOutcome:
        if (identities is None) == (subject_id is None):
            raise InvalidInput("give identities or subject_id, not both", code="identity_required")
        try:
            ConsentMethod(method)
        except ValueError:
            raise InvalidInput(
                f"method must be one of {', '.join(m.value for m in ConsentMethod)}",
                code="invalid_value",
            ) from None
        hashed = (
            hash_identities(self.store.vault, identities, self.manifest.policy.default_phone_region)
            if identities is not None
            else None
        )
        now = self.clock()
        with self.store.write() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            if hashed is not None:
                # An objection or unsubscribe may come before any data (a suppression entry).
                found = find_or_create(repo, hashed, now)
            else:
                assert subject_id is not None
                resolved = repo.resolve(subject_id)
                if resolved is None:
                    raise InvalidInput(f"no subject '{subject_id}'", code="unknown_subject")
                found = resolved
            entry = PreferenceEntry(
                kind.value, method, now, brand=brand, purpose=purpose, channel=channel
            )
            record, changed = self._apply(connection, found, transition, entry, now)
        return PreferenceOutcome(found, changed, record)

    @staticmethod
    def _apply(
        connection: Any,
        subject_id: str,
        transition: Transition,
        entry: PreferenceEntry,
        now: dt.datetime,
    ) -> tuple[SubjectRecord, bool]:
        ledger = Ledger(connection)
        record = ledger.load(subject_id, for_update=True)
        updated = transition(record)
        if updated == record:
            return record, False
        ledger.record_preference(subject_id, entry, updated, now)
        return updated, True


def _channel(channel: str) -> str:
    try:
        return MessageChannel(channel).value
    except ValueError:
        raise InvalidInput(
            f"channel must be one of {', '.join(c.value for c in MessageChannel)}",
            code="invalid_value",
        ) from None
