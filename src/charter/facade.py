"""``charter.Charter``: the Python API that the HTTP API and the CLI are thin shells over."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from charter.bootstrap import load
from charter.config import Settings
from charter.domain.clock import Clock, system_clock
from charter.domain.consent import ANY_CHANNEL
from charter.domain.decisions import Decision
from charter.domain.errors import InvalidValue, NotFound
from charter.domain.geo import CountryTable
from charter.domain.notices_rules import SourceRef
from charter.domain.permissions import Permission
from charter.domain.requests import ReceivedVia, RequestType
from charter.manifest import Manifest
from charter.services.audit import AuditService
from charter.services.brands import require_brand
from charter.services.breaches import BreachService
from charter.services.children import (
    PARENT,
    AwaitingParent,
    ParentalConsentService,
    ParentContact,
)
from charter.services.collection import (
    CollectionService,
    ConsentInput,
    Submission,
    SubmissionReceipt,
)
from charter.services.consents import ConsentRequest, ConsentService, RecordedConsent
from charter.services.contests import ContestService
from charter.services.cookie_banner import CookieBannerService
from charter.services.credentials import CredentialService
from charter.services.dashboard import DashboardService
from charter.services.decisions import DecisionService
from charter.services.disclosures import DisclosureService
from charter.services.events import EventService, load_country_table
from charter.services.identify import hash_identities, locate
from charter.services.outbox import DirectoryTransport, Outbox, Transport, transport_for
from charter.services.policy_versions import PolicyVersionService
from charter.services.preferences import (
    MessageCheck,
    PreferenceOutcome,
    PreferenceService,
    UnsubscribeLink,
)
from charter.services.prior_notices import PriorNoticeService
from charter.services.publication import PublicationService
from charter.services.receipts import ReceiptService
from charter.services.request_reading import RequestView
from charter.services.requests import RequestService
from charter.services.retention import RetentionService
from charter.services.rights import RightsRunner
from charter.services.sources import SourceNotices
from charter.services.sponsor_transfers import SponsorTransferService
from charter.services.staff import StaffService
from charter.services.statistics import StatisticsService
from charter.services.surveys import SurveyService
from charter.services.tokens import Caller, IssuedToken, TokenService
from charter.services.transfers import TransferService
from charter.services.values import printable
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository

DEFAULT_BASE_URL = Settings.model_fields["public_base_url"].default
DEFAULT_OUTBOX = Settings.model_fields["outbox_dir"].default

logger = logging.getLogger("charter")


class Charter:
    """One company's Charter: its manifest enforced over its store.

    ``Charter.open()`` reads ``CHARTER_*`` settings; tests build one from parts.
    """

    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock = system_clock,
        *,
        public_base_url: str = DEFAULT_BASE_URL,
        transport: Transport | None = None,
        push_allow_private: bool = False,
        manifest_path: Path | None = None,
        countries: CountryTable | None = None,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self._tokens = TokenService(store, clock)
        self._consents = ConsentService(manifest, store, clock)
        self.decisions = DecisionService(manifest, store)
        self.preferences = PreferenceService(
            manifest, store, clock, self.decisions, public_base_url
        )
        self.receipts = ReceiptService(manifest, store, public_base_url)
        self.cookie_banner = CookieBannerService(
            manifest, store, clock, self._consents, self.preferences, self.receipts
        )
        self.outbox = Outbox(store, transport or DirectoryTransport(DEFAULT_OUTBOX), clock)
        self.parents = ParentalConsentService(manifest, store, clock, self.outbox, public_base_url)
        self.prior_notices = PriorNoticeService(
            manifest, store, clock, self.outbox, public_base_url
        )
        self.sources = SourceNotices(manifest, store, clock, self.outbox, public_base_url)
        self._collection = CollectionService(manifest, store, clock, self.parents)
        self.requests = RequestService(
            manifest,
            store,
            clock,
            self.outbox,
            public_base_url,
            approval_required=frozenset(manifest.policy.approval_required),
        )
        self.publication = PublicationService(manifest, store, clock, self.decisions, self.outbox)
        self.rights = RightsRunner(
            manifest,
            store,
            clock,
            self.outbox,
            self._consents,
            self.preferences,
            self.publication,
            public_base_url,
            push_allow_private=push_allow_private,
        )
        self.staff = StaffService(store, clock)
        self.audit = AuditService(store, clock)
        self.dashboard = DashboardService(store, clock)
        self.retention = RetentionService(manifest, store, clock, self._consents)
        self.policy_versions = PolicyVersionService(
            manifest, store, clock, self.outbox, self._consents, public_base_url, manifest_path
        )
        self.breaches = BreachService(manifest, store, clock, self.outbox, self.rights.connector)
        self.disclosures = DisclosureService(manifest, store, clock)
        self.statistics = StatisticsService(manifest, store, clock, self.disclosures)
        self.surveys = SurveyService(manifest, store, clock, self.decisions, self.disclosures)
        self.events = EventService(manifest, store, clock, countries=countries)
        self.transfers = TransferService(manifest, store, clock, self.outbox, self.disclosures)
        self.contests = ContestService(manifest, store, clock, self.disclosures)
        self.sponsor_transfers = SponsorTransferService(manifest, store, clock, self.disclosures)
        self.credentials = CredentialService(manifest, store, clock)

    @classmethod
    def open(cls, settings: Settings | None = None, clock: Clock = system_clock) -> Charter:
        settings = settings or Settings()
        # Read before the store opens: a bad table then leaves nothing open behind it.
        countries = load_country_table(settings.geoip_file) if settings.geoip_file else None
        manifest, store = load(settings)
        return cls(
            manifest,
            store,
            clock,
            public_base_url=settings.public_base_url,
            transport=transport_for(settings.smtp_url, settings.outbox_dir),
            push_allow_private=settings.push_allow_private,
            manifest_path=settings.manifest,
            countries=countries,
        )

    def close(self) -> None:
        self.rights.close()
        self._consents.close()
        self.store.dispose()

    def __enter__(self) -> Charter:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def submit(
        self,
        touchpoint: str,
        *,
        brand: str,
        identities: dict[str, Any],
        data: dict[str, Any] | None = None,
        consents: list[dict[str, str]] | None = None,
        parent: dict[str, str | None] | None = None,
        parental_consent: str | None = None,
        opt_outs: list[str] | None = None,
        source: dict[str, str | None] | None = None,
    ) -> SubmissionReceipt | AwaitingParent:
        """Collect a form submission at ``touchpoint`` (refused whole if anything is undeclared).

        A child's submission needing a parent's consent keeps nothing: with ``parent`` (an
        e-mail) that parent is asked (``AwaitingParent``); once they confirm, the same submission
        with ``parental_consent`` (the id) is kept. ``opt_outs``: soft opt-in purposes the
        person opted out of at this collection (ePrivacy Directive Art. 13(2)). ``source``:
        at a partner or social media touchpoint, ``{"partner", "agreement"}`` it came under;
        the person is then told (Art. 14) right after the submission is kept."""
        receipt = self._collection.submit(
            touchpoint,
            Submission(
                brand=brand,
                identities=identities,
                data=data or {},
                consents=[ConsentInput(c["purpose"], c["notice"]) for c in consents or []],
                parent=None if parent is None else ParentContact(**parent),  # type: ignore[arg-type]
                parental_consent=parental_consent,
                opt_outs=list(opt_outs or []),
                source=None
                if source is None
                else SourceRef(str(source.get("partner")), source.get("agreement")),
            ),
        )
        if source is not None and isinstance(receipt, SubmissionReceipt):
            # Committed: tell the person now. A failure here must not turn a kept submission
            # into an error; the notice stays pending and the worker or `charter sweep` sends it.
            try:
                self.sources.send_due(subject_id=receipt.subject_id)
            except Exception as error:
                # The error's type only: its text may quote an address.
                logger.warning(
                    "subject %s: Art. 14 notice left for the worker (%s)",
                    receipt.subject_id,
                    type(error).__name__,
                )
        return receipt

    def delete_child_data(self, consent_id: str, token: str) -> RequestView:
        """A parent, through their link, has their child's data erased now, on every system."""
        target = self.parents.erasure_target(consent_id, token)
        request_id = self.requests.file_on_behalf(
            kind=RequestType.ERASURE,
            brand=target.brand,
            subject_id=target.subject_id,
            contact=target.parent_email,
            via=ReceivedVia.PARENT_LINK,
            actor=PARENT,
            reason="parent_deletion",
            note=f"a parent asked to delete their child's data (parental consent {consent_id})",
        )
        return self._run_now(request_id)

    def cancel_child_registration(
        self, *, brand: str, identities: dict[str, Any], actor: str, note: str
    ) -> RequestView:
        """Staff found that a child registered improperly: the account is cancelled and all
        of the child's data erased at once, on every system, and the audit log says who did it
        and why (the policy's promise). The parent, if one is on file, is told; else the child."""
        require_brand(self.manifest, brand)
        note = printable(note.strip(), "note")
        if not note:
            raise InvalidValue("note: say how the improper registration came to light")
        hashed = hash_identities(
            self.store.vault, identities, self.manifest.policy.default_phone_region
        )
        with self.store.read() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            subject_id = locate(repo, hashed)
            if subject_id is None:
                raise NotFound("nobody is known by these identities", code="unknown_subject")
            contact = self.parents.parent_of(connection, subject_id) or next(
                (value for kind, value in repo.identities_of(subject_id) if kind == "email"),
                self.manifest.policy.controller.email,
            )
        request_id = self.requests.file_on_behalf(
            kind=RequestType.ERASURE,
            brand=brand,
            subject_id=subject_id,
            contact=contact,
            via=ReceivedVia.STAFF_ACTION,
            actor=actor,
            reason="improper_child_registration",
            note=f"improper child registration: {note}",
        )
        return self._run_now(request_id)

    def _run_now(self, request_id: str) -> RequestView:
        self.rights.run(request_id)
        self.outbox.deliver()
        return self.requests.view(request_id)

    def record_consent(self, request: ConsentRequest) -> RecordedConsent:
        """Append one consent event (give, withdraw or refuse) for one purpose."""
        return self._consents.record(request)

    def decide(
        self,
        purpose: str,
        categories: list[str] | tuple[str, ...] = (),
        *,
        brand: str,
        subject_id: str | None = None,
        identities: dict[str, Any] | None = None,
        channel: str = ANY_CHANNEL,
    ) -> Decision:
        """May ``purpose`` use these ``categories`` of the person's data now, and why (not)."""
        return self.decisions.decide(brand, purpose, categories, subject_id, identities, channel)

    def decide_many(
        self, purpose: str, categories: list[str], *, brand: str, subject_ids: list[str]
    ) -> list[Decision]:
        return self.decisions.decide_many(brand, purpose, categories, subject_ids)

    def object(
        self,
        purpose: str | None = None,
        *,
        withdraw: bool = False,
        brand: str | None = None,
        subject_id: str | None = None,
        identities: dict[str, Any] | None = None,
    ) -> PreferenceOutcome:
        """Object to a purpose (Art. 21(1)) or, with no purpose, to all direct marketing."""
        return self.preferences.object(
            purpose, withdraw=withdraw, brand=brand, subject_id=subject_id, identities=identities
        )

    def restrict(
        self,
        restricted: bool = True,
        *,
        brand: str | None = None,
        subject_id: str | None = None,
        identities: dict[str, Any] | None = None,
    ) -> PreferenceOutcome:
        """Restrict processing (Art. 18), or lift the restriction with ``restricted=False``."""
        return self.preferences.restrict(
            restricted, brand=brand, subject_id=subject_id, identities=identities
        )

    def set_subscription(
        self,
        brand: str,
        channel: str,
        subscribed: bool,
        *,
        subject_id: str | None = None,
        identities: dict[str, Any] | None = None,
    ) -> PreferenceOutcome:
        return self.preferences.set_subscription(
            brand, channel, subscribed, subject_id=subject_id, identities=identities
        )

    def unsubscribe_by_link(self, token: str) -> tuple[UnsubscribeLink, bool]:
        """Unsubscribe by a signed link (no login); returns the link and whether it changed."""
        return self.preferences.unsubscribe_by_link(token)

    def check_message(
        self,
        brand: str,
        channel: str,
        message_class: str,
        *,
        subject_id: str | None = None,
        identities: dict[str, Any] | None = None,
        purpose: str | None = None,
    ) -> MessageCheck:
        """May a message of this class go to the person now (and its unsubscribe headers)."""
        return self.preferences.check_message(
            brand,
            channel,
            message_class,
            subject_id=subject_id,
            identities=identities,
            purpose=purpose,
        )

    def opt_out_of_sale(self, brand: str, subject_id: str) -> PreferenceOutcome:
        """Record a Global Privacy Control opt-out of sale, sharing and targeted advertising."""
        return self.preferences.opt_out_of_sale(brand, subject_id)

    def consent_receipt(self, event_id: int) -> dict[str, Any]:
        """The Kantara v1.1 consent receipt of one consent event."""
        return self.receipts.receipt(event_id)

    def create_token(self, role: str, name: str = "") -> IssuedToken:
        return self._tokens.create(role, name)

    def revoke_token(self, token_id: str) -> None:
        self._tokens.revoke(token_id)

    def authorise(self, token: str | None, permission: Permission) -> Caller:
        return self._tokens.authorise(token, permission)
