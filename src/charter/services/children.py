"""A parent's consent for their child (GDPR Art. 8; the policy: nobody under 18 without it).

The rules are in ``charter.domain.children``; this module keeps the parent's side:

1. ``ask`` (inside the child's submission, which is then not kept): a row holding only the
   parent's contact, sealed under a key of its own, the purposes asked about and the hash of the
   exact text the parent is shown; a mail with a link to that text.
2. The parent opens the link (a GET changes nothing: mail scanners fetch links) and confirms,
   saying they are the parent or guardian and which optional uses they allow, or refuses.
   Refusing, or not answering within ``policy.parental_consent_days``, deletes the row and the
   mail naming the parent (``expire``, run by the daily job and ``charter sweep``).
3. ``use`` (inside the service's second submission): a confirmed consent, for that brand and
   touchpoint, not used yet. The child's subject then holds the parent's consent in the consent
   ledger (channel ``parent``, method ``parental_email``, dated when the parent confirmed, with
   the text they saw), and the row belongs to the subject (erased with it).
4. Through the same link the parent later sees the child's data, withdraws the consent
   (decisions then refuse every purpose that needed it), or has the data deleted
   (``charter.facade.Charter.delete_child_data``: an erasure run at once on every system).

The link's token is kept only as a hash; a wrong token and an unknown id get the same answer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from charter.domain.children import (
    ParentalConsentFacts,
    ParentalStatus,
    usable,
)
from charter.domain.clock import Clock
from charter.domain.consent import (
    PARENT_CHANNEL,
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    notice_hash,
)
from charter.domain.credentials import describe_password_state, is_password_state
from charter.domain.errors import InvalidInput, InvalidValue, NotFound
from charter.manifest.models import LegalBasis, Manifest
from charter.services.credentials import conceal_values
from charter.services.mail_language import content_language, texts_for
from charter.services.outbox import Message, Outbox
from charter.services.values import normalise_email, printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.ledger import Ledger, LedgerEntry, keep_notice
from charter.storage.rows import row_by_id
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import parental_consents
from charter.storage.vault import Vault

PARENT = "parent"
"""The actor of what a parent does through their link, in histories and the audit log."""


@dataclass(frozen=True)
class ParentContact:
    email: str
    name: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class AwaitingParent:
    """A child's submission kept nothing: the parent was asked (HTTP 202)."""

    parental_consent_id: str
    expires_at: dt.datetime
    purposes: list[str]
    status: str = "awaiting_parental_consent"


@dataclass(frozen=True)
class NoticeSection:
    heading: str
    lines: list[str]


@dataclass(frozen=True)
class ParentNotice:
    title: str
    sections: list[NoticeSection]

    @property
    def text(self) -> str:
        """The plain text kept as evidence of what the parent was shown."""
        parts = [self.title]
        for section in self.sections:
            parts.append(section.heading + "\n" + "\n".join(f"- {line}" for line in section.lines))
        return "\n\n".join(parts)


@dataclass(frozen=True)
class Option:
    purpose: str
    name: str
    text: str
    allowed: bool


@dataclass(frozen=True)
class ChildValue:
    touchpoint: str
    field: str
    category: str
    value: Any
    collected_at: dt.datetime


@dataclass(frozen=True)
class ParentPage:
    """What the parent's link shows."""

    id: str
    brand: str
    brand_name: str
    touchpoint_name: str
    status: ParentalStatus
    notice: ParentNotice
    options: list[Option]
    expires_at: dt.datetime
    decided_at: dt.datetime | None
    child_identities: list[tuple[str, str]]
    child_values: list[ChildValue]


@dataclass(frozen=True)
class ErasureTarget:
    brand: str
    subject_id: str
    parent_email: str


def _digest(token: str) -> str:
    return hashlib.sha256(f"parental-consent:{token}".encode()).hexdigest()


def parent_notice(
    manifest: Manifest, brand: str, touchpoint_key: str, purposes: Sequence[str]
) -> ParentNotice:
    """What a parent is asked to agree to, from the manifest (the same text in mail and page)."""
    touchpoint = manifest.touchpoints[touchpoint_key]
    brand_name = manifest.brands[brand].name
    child_age = manifest.policy.child_age
    fields = [
        f"{name.replace('_', ' ')}" + (f": {spec.description}" if spec.description else "")
        for name, spec in touchpoint.fields.items()
    ]
    uses = [
        f"{manifest.purposes[key].name}: {manifest.purposes[key].description}" for key in purposes
    ]
    receivers = sorted(
        {
            recipient.name
            for recipient in manifest.recipients.values()
            if set(recipient.purposes) & set(purposes)
        }
    )
    sections = [
        NoticeSection(
            "Why you receive this",
            [
                f"Someone under {child_age} wants to use {touchpoint.name} of {brand_name} "
                f"({touchpoint.description.rstrip('.')}) and gave your e-mail address as their "
                "parent's or guardian's.",
                "We keep nothing about your child until you agree; if you refuse or do not "
                f"answer within {manifest.policy.parental_consent_days} days, we delete your "
                "address too.",
            ],
        ),
        NoticeSection("What we would collect", fields),
        NoticeSection("What for", uses),
    ]
    if receivers:
        sections.append(NoticeSection("Who receives it", receivers))
    sections.append(
        NoticeSection(
            "Your choices",
            [
                "You can see your child's data, withdraw this consent or have the data deleted "
                "at any time, through the link in our e-mail.",
                f"Our privacy policy: {{policy}}?brand={brand}",
            ],
        )
    )
    return ParentNotice(f"{brand_name}: your consent for your child", sections)


class ParentalConsentService:
    def __init__(
        self, manifest: Manifest, store: Store, clock: Clock, outbox: Outbox, public_base_url: str
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.base_url = public_base_url.rstrip("/")

    # -- inside a child's submission ---------------------------------------------------------------

    def ask(
        self,
        connection: Connection,
        *,
        brand: str,
        touchpoint: str,
        purposes: Sequence[str],
        parent: ParentContact,
        now: dt.datetime,
    ) -> AwaitingParent:
        """Record the parent's contact and mail them the link (the caller's transaction)."""
        email = normalise_email(parent.email, "parent.email")
        for where, text in (("parent.name", parent.name), ("parent.language", parent.language)):
            if text is not None:
                printable(text, where)
        offered = self._offered(touchpoint)
        consent_id = str(uuid.uuid4())
        token = secrets.token_urlsafe(32)
        notice = self._notice(brand, touchpoint, [*purposes, *offered])
        digest = notice_hash(notice.text)
        keep_notice(connection, digest, notice.text, now)
        data_key = Vault.new_data_key()
        expires_at = now + dt.timedelta(days=self.manifest.policy.parental_consent_days)
        connection.execute(
            insert(parental_consents).values(
                id=consent_id,
                brand=brand,
                touchpoint=touchpoint,
                status=ParentalStatus.PENDING.value,
                purposes=sorted(purposes),
                offered_consents=offered,
                allowed_consents=[],
                notice_hash=digest,
                token_hash=_digest(token),
                key_wrapped=self.store.vault.wrap(consent_id, data_key),
                parent_sealed=Vault.seal(
                    data_key, consent_id, "parent", {"email": email, "name": parent.name}
                ),
                language=parent.language,
                requested_at=now,
                expires_at=expires_at,
            )
        )
        # In the parent's language if offered, else the brand's (charter.domain.languages);
        # the notice itself is the manifest's text, as written.
        t = texts_for(self.manifest, None, brand=brand, requested=parent.language)
        controller = self.manifest.policy.controller
        greeting = t("parent.dear", name=parent.name) if parent.name else t("parent.hello")
        body = (
            f"{greeting}\n\n{notice.text}\n\n{t('parent.link')}\n"
            + self.link(consent_id, token)
            + f"\n\n{t('parent.until', date=t.date(expires_at))}"
            + t.sign_off(controller.name, controller.email)
        )
        self.outbox.enqueue(
            connection,
            Message(
                to=email,
                subject=notice.title,
                body=body,
                kind="parental_consent",
                sender=self.manifest.policy.controller.email,
                request_id=consent_id,
                headers=content_language(t),
            ),
            now,
        )
        append_audit(
            connection,
            at=now,
            actor="system",
            action="parental_consent.asked",
            target=consent_id,
            details={"brand": brand, "touchpoint": touchpoint, "purposes": sorted(purposes)},
        )
        return AwaitingParent(consent_id, expires_at, sorted(purposes))

    def use(
        self,
        connection: Connection,
        consent_id: str,
        *,
        brand: str,
        touchpoint: str,
        needed: Collection[str],
        consents_asked: Collection[str],
        now: dt.datetime,
    ) -> list[LedgerEntry]:
        """Take a confirmed consent for this submission (once); returns the ledger entries of
        the parent's consent, dated when they confirmed. Refused -> ``InvalidInput``."""
        row = self._row(connection, consent_id, for_update=True)
        if row is None:
            raise NotFound(
                f"no parental consent '{consent_id}': a refused or expired one leaves nothing; "
                "ask the parent again",
                code="unknown_parental_consent",
            )
        problem = usable(
            self._facts(row),
            brand=brand,
            touchpoint=touchpoint,
            needed=needed,
            consents_asked=consents_asked,
            now=now,
        )
        if problem is not None:
            raise InvalidInput(f"parental_consent: {problem.message}", code=problem.code)
        connection.execute(
            update(parental_consents)
            .where(parental_consents.c.id == consent_id)
            .values(status=ParentalStatus.USED.value, used_at=now)
        )
        decided = utc(row.decided_at)
        return [
            LedgerEntry(
                ConsentEvent(
                    brand,
                    purpose,
                    PARENT_CHANNEL,
                    ConsentAction.GIVEN,
                    self.manifest.purposes[purpose].notice_version,
                    decided,
                ),
                row.notice_hash,
                ConsentMethod.PARENTAL_EMAIL.value,
                self.manifest.policy.version,
                touchpoint=touchpoint,
            )
            for purpose in sorted({*row.purposes, *row.allowed_consents})
        ]

    def attach(self, connection: Connection, consent_id: str, subject_id: str) -> None:
        """The used consent now belongs to the child's subject (and goes with its erasure)."""
        connection.execute(
            update(parental_consents)
            .where(parental_consents.c.id == consent_id)
            .values(subject_id=subject_id)
        )

    # -- the parent's link -------------------------------------------------------------------------

    def link(self, consent_id: str, token: str) -> str:
        return f"{self.base_url}/parental-consent/{consent_id}?token={token}"

    def page(self, consent_id: str, token: str) -> ParentPage:
        with self.store.read() as connection:
            row = self._authorised(connection, consent_id, token)
            values: list[ChildValue] = []
            identities: list[tuple[str, str]] = []
            if row.subject_id is not None:
                repo = SubjectRepository(connection, self.store.vault)
                identities = repo.identities_of(row.subject_id)
                # A parent sees that the child's password is set, never the password's hash.
                values = [
                    ChildValue(
                        v["touchpoint"],
                        v["field"],
                        v["category"],
                        describe_password_state(v["value"])
                        if is_password_state(v["value"])
                        else v["value"],
                        utc(v["collected_at"]),
                    )
                    for v in conceal_values(self.manifest, repo.values_of(row.subject_id))
                ]
        status = ParentalStatus(row.status)
        if status is ParentalStatus.PENDING and self.clock() >= utc(row.expires_at):
            raise self._invalid()
        touchpoint = self.manifest.touchpoints[row.touchpoint]
        options = [
            Option(
                key,
                self.manifest.purposes[key].name,
                self.manifest.purposes[key].notice or self.manifest.purposes[key].description,
                key in row.allowed_consents,
            )
            for key in row.offered_consents
        ]
        return ParentPage(
            id=row.id,
            brand=row.brand,
            brand_name=self.manifest.brands[row.brand].name,
            touchpoint_name=touchpoint.name,
            status=status,
            notice=self._notice(row.brand, row.touchpoint, [*row.purposes, *row.offered_consents]),
            options=options,
            expires_at=utc(row.expires_at),
            decided_at=utc(row.decided_at) if row.decided_at else None,
            child_identities=identities,
            child_values=values,
        )

    def confirm(
        self, consent_id: str, token: str, *, guardian: bool, allowed: Collection[str]
    ) -> None:
        if not guardian:
            raise InvalidValue(
                "guardian: only a parent or legal guardian may consent for a child; tick the box "
                "if you are one"
            )
        now = self.clock()
        with self.store.write() as connection:
            row = self._authorised(connection, consent_id, token, for_update=True)
            if ParentalStatus(row.status) is not ParentalStatus.PENDING or now >= utc(
                row.expires_at
            ):
                raise InvalidInput("this consent was already answered", code="already_answered")
            unknown = sorted(set(allowed) - set(row.offered_consents))
            if unknown:
                raise InvalidValue(f"consents: {', '.join(unknown)} was not offered here")
            connection.execute(
                update(parental_consents)
                .where(parental_consents.c.id == consent_id)
                .values(
                    status=ParentalStatus.CONFIRMED.value,
                    allowed_consents=sorted(set(allowed)),
                    decided_at=now,
                    # From now, the service has the same time again to complete the sign-up.
                    expires_at=now + dt.timedelta(days=self.manifest.policy.parental_consent_days),
                )
            )
            append_audit(
                connection,
                at=now,
                actor=PARENT,
                action="parental_consent.confirmed",
                target=consent_id,
                details={"method": ConsentMethod.PARENTAL_EMAIL.value},
            )

    def refuse(self, consent_id: str, token: str) -> None:
        """No: the row (the parent's contact) and the mail naming the parent go at once."""
        now = self.clock()
        with self.store.write() as connection:
            row = self._authorised(connection, consent_id, token, for_update=True)
            if ParentalStatus(row.status) not in (ParentalStatus.PENDING, ParentalStatus.CONFIRMED):
                raise InvalidInput(
                    "your child's registration is complete: withdraw the consent or delete the "
                    "data instead",
                    code="already_used",
                )
            self._drop(connection, row)
            append_audit(
                connection,
                at=now,
                actor=PARENT,
                action="parental_consent.refused",
                target=consent_id,
                details={},
            )

    def withdraw(self, consent_id: str, token: str) -> int:
        """Withdraw the parent's consent to every purpose it covered (Art. 7(3)); returns how
        many. The data stays until deleted or its retention ends; no purpose that needed the
        consent may use it."""
        now = self.clock()
        with self.store.write() as connection:
            row = self._authorised(connection, consent_id, token, for_update=True)
            if ParentalStatus(row.status) is not ParentalStatus.USED or row.subject_id is None:
                raise InvalidInput("there is no consent in use to withdraw", code="not_in_use")
            entries = [
                LedgerEntry(
                    ConsentEvent(
                        row.brand,
                        purpose,
                        PARENT_CHANNEL,
                        ConsentAction.WITHDRAWN,
                        self.manifest.purposes[purpose].notice_version,
                        now,
                    ),
                    row.notice_hash,
                    ConsentMethod.PARENTAL_EMAIL.value,
                    self.manifest.policy.version,
                    touchpoint=row.touchpoint,
                )
                for purpose in sorted({*row.purposes, *row.allowed_consents})
            ]
            Ledger(connection).record_consents(row.subject_id, entries, now)
            connection.execute(
                update(parental_consents)
                .where(parental_consents.c.id == consent_id)
                .values(status=ParentalStatus.WITHDRAWN.value, decided_at=now)
            )
            append_audit(
                connection,
                at=now,
                actor=PARENT,
                action="parental_consent.withdrawn",
                target=consent_id,
                details={"subject_id": row.subject_id, "purposes": len(entries)},
            )
        return len(entries)

    def erasure_target(self, consent_id: str, token: str) -> ErasureTarget:
        """Whose data a parent's deletion erases, and where to tell them it is done."""
        with self.store.read() as connection:
            row = self._authorised(connection, consent_id, token)
        if row.subject_id is None:
            raise InvalidInput(
                "nothing of your child's is kept: refuse instead", code="nothing_to_delete"
            )
        return ErasureTarget(row.brand, row.subject_id, self._parent(row)["email"])

    def parent_of(self, connection: Connection, subject_id: str) -> str | None:
        """The e-mail of the parent whose consent a child's subject holds, if any."""
        row = connection.execute(
            select(parental_consents)
            .where(parental_consents.c.subject_id == subject_id)
            .order_by(parental_consents.c.used_at.desc())
            .limit(1)
        ).first()
        return None if row is None else str(self._parent(row)["email"])

    # -- for the calling service and the daily job -------------------------------------------------

    def status(self, consent_id: str) -> dict[str, Any]:
        with self.store.read() as connection:
            row = self._row(connection, consent_id)
        if row is None:
            raise NotFound(
                f"no parental consent '{consent_id}' (a refused or expired one leaves nothing)",
                code="unknown_parental_consent",
            )
        return {
            "id": row.id,
            "brand": row.brand,
            "touchpoint": row.touchpoint,
            "status": row.status,
            "purposes": list(row.purposes),
            "allowed_consents": list(row.allowed_consents),
            "requested_at": utc(row.requested_at),
            "decided_at": utc(row.decided_at) if row.decided_at else None,
            "expires_at": utc(row.expires_at),
        }

    def expire(self) -> int:
        """Delete the consents nobody answered or used in time, with the parent's contact."""
        now = self.clock()
        with self.store.write() as connection:
            rows = connection.execute(
                select(parental_consents).where(
                    parental_consents.c.status.in_(
                        [ParentalStatus.PENDING.value, ParentalStatus.CONFIRMED.value]
                    ),
                    parental_consents.c.expires_at <= now,
                )
            ).all()
            for row in rows:
                self._drop(connection, row)
            if rows:
                append_audit(
                    connection,
                    at=now,
                    actor="system",
                    action="parental_consent.expired",
                    target=None,
                    details={"count": len(rows)},
                )
        return len(rows)

    # -- helpers -----------------------------------------------------------------------------------

    def _offered(self, touchpoint: str) -> list[str]:
        """The touchpoint's optional uses a parent may allow (never those closed to minors)."""
        return [
            key
            for key in self.manifest.touchpoints[touchpoint].consent_purposes
            if self.manifest.purposes[key].minors.value != "excluded"
            and self.manifest.purposes[key].legal_basis is LegalBasis.CONSENT
        ]

    def _notice(self, brand: str, touchpoint: str, purposes: Sequence[str]) -> ParentNotice:
        notice = parent_notice(self.manifest, brand, touchpoint, purposes)
        policy = f"{self.base_url}/policy"
        return ParentNotice(
            notice.title,
            [
                NoticeSection(s.heading, [line.replace("{policy}", policy) for line in s.lines])
                for s in notice.sections
            ],
        )

    @staticmethod
    def _row(connection: Connection, consent_id: str, *, for_update: bool = False) -> Any:
        return row_by_id(connection, parental_consents, consent_id, for_update=for_update)

    def _authorised(
        self, connection: Connection, consent_id: str, token: str, *, for_update: bool = False
    ) -> Any:
        row = self._row(connection, consent_id, for_update=for_update)
        if row is None or not secrets.compare_digest(row.token_hash, _digest(token)):
            raise self._invalid()
        return row

    @staticmethod
    def _invalid() -> NotFound:
        return NotFound(
            "this link is not valid (any more): it may have been answered, refused or have expired",
            code="unknown_parental_consent",
        )

    def _parent(self, row: Any) -> dict[str, Any]:
        data_key = self.store.vault.unwrap(row.id, bytes(row.key_wrapped))
        found: dict[str, Any] = Vault.open(data_key, row.id, "parent", bytes(row.parent_sealed))
        return found

    @staticmethod
    def _drop(connection: Connection, row: Any) -> None:
        connection.execute(delete(parental_consents).where(parental_consents.c.id == row.id))

    @staticmethod
    def _facts(row: Any) -> ParentalConsentFacts:
        return ParentalConsentFacts(
            brand=row.brand,
            touchpoint=row.touchpoint,
            status=ParentalStatus(row.status),
            purposes=frozenset(row.purposes),
            allowed_consents=frozenset(row.allowed_consents),
            expires_at=utc(row.expires_at),
        )
