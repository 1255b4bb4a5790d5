"""Data received from partners and social platforms (GDPR Art. 14; the policy, "Information
Obtained From Other Sources").

- **At collection** (``check_submission_source`` in the submission's checks, ``record_source``
  in its transaction): a submission at a ``partner`` or ``social_media`` touchpoint names the
  partner and agreement it came under (rules in ``charter.domain.notices_rules``); the receipt
  is recorded with the submission: which partner, which agreement, when.
- **The Art. 14 notice**: unless the partner's ``exemption`` applies (Art. 14(5); then the
  ground and reason are recorded instead), the receipt is *pending* with a due date one month
  after receipt (Art. 14(3)(a)). ``SourceNotices.send_due`` mails every pending receipt, one
  mail per person and brand covering all of theirs, through the outbox; the outbox marks them
  *sent* with the time it delivered (``Outbox.on_sent``). It runs right after each such
  submission (so the person is normally told at once), in the worker loop and in ``charter
  sweep``; the due date is the legal ceiling, and receipts still untold past it are logged as
  overdue. A person of whom no e-mail is known cannot be told by mail: the receipt is recorded
  *undeliverable* (lint rule ``art14_reachable`` keeps touchpoints that receive from partners
  not exempt collecting an e-mail).
- **The language** of the notice: the person's latest recorded one (a consent given through a
  French banner), else the brand's, else English, among those offered
  (``charter.domain.languages``); the manifest's names and descriptions go as written.
- **The access report** names each source: partner, agreement, when received, and when the
  person was told (or the exemption).

Rows belong to the subject and its submission: erasure deletes them, a merge moves them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from charter.domain.categories import covered_by_any, covers
from charter.domain.clock import Clock
from charter.domain.notices_rules import (
    NoticeBatch,
    PartnerTerms,
    Receipt,
    SourceRef,
    art14_due,
    batches,
    check_source,
    overdue,
)
from charter.manifest.models import IDENTITY_CATEGORIES, Manifest, Touchpoint
from charter.services.mail_language import content_language, recorded_languages, texts_for
from charter.services.mail_texts import MailTexts
from charter.services.outbox import Message, Outbox
from charter.storage.engine import utc
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import personal_values, source_receipts

KIND = "source_notice"
"""The outbox kind of an Art. 14 notice's mail."""

PENDING = "pending"
QUEUED = "queued"
SENT = "sent"
EXEMPT = "exempt"
UNDELIVERABLE = "undeliverable"

logger = logging.getLogger("charter.sources")


def partner_terms(manifest: Manifest) -> dict[str, PartnerTerms]:
    return {
        key: PartnerTerms(p.kind, tuple(p.agreements), p.exemption is not None)
        for key, p in manifest.partners.items()
    }


def check_submission_source(
    manifest: Manifest, key: str, touchpoint: Touchpoint, source: SourceRef | None
) -> None:
    """Refuse a submission whose ``source`` does not fit its touchpoint (422)."""
    check_source(key, touchpoint.source.value, touchpoint.partners, partner_terms(manifest), source)


def record_source(
    connection: Connection,
    manifest: Manifest,
    touchpoint_key: str,
    *,
    subject_id: str,
    submission_id: str,
    brand: str,
    source: SourceRef | None,
    now: dt.datetime,
) -> None:
    """Record, in the submission's transaction, where its data came from and the notice owed."""
    if source is None:
        return
    exemption = manifest.partners[source.partner].exemption
    connection.execute(
        insert(source_receipts).values(
            submission_id=submission_id,
            subject_id=subject_id,
            brand=brand,
            touchpoint=touchpoint_key,
            partner=source.partner,
            agreement=source.agreement,
            received_at=now,
            notice_status=EXEMPT if exemption else PENDING,
            notice_due_at=None if exemption else art14_due(now),
            exemption_ground=exemption.ground.value if exemption else None,
            exemption_reason=exemption.reason if exemption else None,
        )
    )


def sources_of(connection: Connection, manifest: Manifest, subject_id: str) -> list[dict[str, Any]]:
    """The receipts from partners of a subject, oldest first, for the access package."""
    rows = connection.execute(
        select(source_receipts)
        .where(source_receipts.c.subject_id == subject_id)
        .order_by(source_receipts.c.received_at, source_receipts.c.id)
    )
    found = []
    for row in rows:
        partner = manifest.partners.get(row.partner)
        found.append(
            {
                "source": partner.name if partner else row.partner,
                "partner": row.partner,
                "agreement": row.agreement,
                "at": utc(row.received_at).isoformat(),
                "touchpoint": row.touchpoint,
                "brand": row.brand,
                "notice": row.notice_status,
                "notice_due_at": utc(row.notice_due_at).isoformat() if row.notice_due_at else None,
                "notice_sent_at": utc(row.notice_sent_at).isoformat()
                if row.notice_sent_at
                else None,
                "exemption": row.exemption_ground,
                "exemption_reason": row.exemption_reason,
            }
        )
    return found


@dataclass(frozen=True)
class SourceNoticeReport:
    mails: int = 0
    """Mails queued (one per person and brand)."""
    receipts: int = 0
    """Receipts those mails cover."""
    undeliverable: int = 0
    overdue: int = 0
    """Receipts told only after their due date (they go now all the same)."""


class SourceNotices:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        outbox: Outbox,
        public_base_url: str,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.base_url = public_base_url.rstrip("/")
        outbox.on_sent(KIND, _mark_sent)

    def send_due(
        self, now: dt.datetime | None = None, *, subject_id: str | None = None
    ) -> SourceNoticeReport:
        """Queue the Art. 14 notice of every pending receipt (of one subject, if given), one
        mail per person and brand, and deliver the outbox; see the module docstring."""
        now = now or self.clock()
        report = SourceNoticeReport()
        with self.store.write() as connection:
            query = select(source_receipts).where(source_receipts.c.notice_status == PENDING)
            if subject_id is not None:
                query = query.where(source_receipts.c.subject_id == subject_id)
            if connection.dialect.name == "postgresql":
                # Another process sending at the same moment waits, then skips what went.
                query = query.with_for_update()
            rows = connection.execute(query.order_by(source_receipts.c.id)).all()
            if not rows:
                return report
            pending = [
                Receipt(
                    r.id,
                    r.subject_id,
                    r.brand,
                    r.partner,
                    utc(r.received_at),
                    utc(r.notice_due_at),
                )
                for r in rows
            ]
            late = overdue(pending, now)
            repo = SubjectRepository(connection, self.store.vault)
            languages = recorded_languages(connection, sorted({r.subject_id for r in rows}))
            by_id = {r.id: r for r in rows}
            mails = covered = lost = 0
            for batch in batches(pending):
                ids = [r.id for r in batch.receipts]
                held = repo.identities_of(batch.subject_id)
                email = next((v for kind, v in held if kind == "email"), None)
                if email is None:
                    connection.execute(
                        update(source_receipts)
                        .where(source_receipts.c.id.in_(ids))
                        .values(notice_status=UNDELIVERABLE)
                    )
                    lost += len(ids)
                    continue
                t = texts_for(
                    self.manifest,
                    None,
                    brand=batch.brand,
                    recorded=languages.get(batch.subject_id),
                )
                outbox_id = self.outbox.enqueue(
                    connection,
                    Message(
                        to=str(email),
                        subject=self._subject(t, batch),
                        body=self._body(
                            t, connection, batch, [by_id[i] for i in ids], {k for k, _ in held}
                        ),
                        kind=KIND,
                        sender=self.manifest.policy.controller.email,
                        headers=content_language(t),
                    ),
                    now,
                )
                connection.execute(
                    update(source_receipts)
                    .where(source_receipts.c.id.in_(ids))
                    .values(notice_status=QUEUED, outbox_id=outbox_id)
                )
                mails += 1
                covered += len(ids)
            report = SourceNoticeReport(mails, covered, lost, len(late))
        if late:
            logger.warning(
                "%d Art. 14 notice(s) past their one-month due date are sent only now", len(late)
            )
        if lost:
            logger.warning("%d Art. 14 notice(s) undeliverable: no e-mail known", lost)
        if mails:
            self.outbox.deliver()
        return report

    def _partner_names(self, t: MailTexts, batch: NoticeBatch) -> str:
        names = [
            self.manifest.partners[p].name if p in self.manifest.partners else p
            for p in batch.partners
        ]
        return t.join(names) if len(names) < 3 else t("list.separator").join(names)

    def _subject(self, t: MailTexts, batch: NoticeBatch) -> str:
        found = self.manifest.brands.get(batch.brand)
        brand = found.name if found else batch.brand
        return t("source.subject", brand=brand, partners=self._partner_names(t, batch))

    def _body(
        self,
        t: MailTexts,
        connection: Connection,
        batch: NoticeBatch,
        rows: Sequence[Any],
        identity_kinds: set[str],
    ) -> str:
        """The Art. 14(1)-(2) information, short: controller, source, categories, purposes and
        bases, recipients, retention, rights, the policy's address."""
        m = self.manifest
        controller = m.policy.controller
        brand = m.brands[batch.brand].name if batch.brand in m.brands else batch.brand
        touchpoints = [m.touchpoints[t] for t in dict.fromkeys(r.touchpoint for r in rows)]
        categories = set(
            connection.scalars(
                select(personal_values.c.category).where(
                    personal_values.c.submission_id.in_([r.submission_id for r in rows])
                )
            )
        )
        for tp in touchpoints:  # the identities it takes that we hold of the person
            categories |= {
                IDENTITY_CATEGORIES[kind] for kind in tp.identities if kind.value in identity_kinds
            }
        purposes = list(dict.fromkeys(p for tp in touchpoints for p in tp.purposes))

        def overlaps(listed: Sequence[str]) -> bool:
            return any(
                covered_by_any(c, listed) or any(covers(c, x) for x in listed) for c in categories
            )

        received = []
        for r in rows:
            partner = m.partners[r.partner].name if r.partner in m.partners else r.partner
            under = t("source.agreement", agreement=r.agreement) if r.agreement else ""
            received.append(
                t("source.from", partner=partner, agreement=under, date=t.date(utc(r.received_at)))
            )
        lines = [
            t("source.hello"),
            "",
            t("source.intro", controller=controller.name, brand=brand, address=controller.address),
            "",
            t("source.where"),
            *received,
            "",
            t("source.what"),
            *(f"- {self._category(c)}" for c in sorted(categories)),
            "",
            t("source.why"),
            *(
                f"- {m.purposes[p].name}: {t(f'source.basis.{m.purposes[p].legal_basis.value}')}"
                for p in purposes
                if overlaps(m.purposes[p].categories)
            ),
        ]
        recipients = [
            r.name
            for r in m.recipients.values()
            if set(r.purposes) & set(purposes) and overlaps(r.categories)
        ]
        lines += ["", t("source.who")]
        lines += [f"- {name}" for name in recipients] or [t("source.nobody")]
        lines += ["", t("source.how_long")]
        for rule in m.retention.rules:
            applies = overlaps(rule.categories) or any(
                t in rule.touchpoints for t in dict.fromkeys(r.touchpoint for r in rows)
            )
            if not applies:
                continue
            if rule.period:
                keep = t(
                    "source.keep",
                    period=t.duration(str(rule.period)),
                    start=t(f"source.start.{rule.counted_from.value}"),
                    action=t(f"source.action.{rule.action.value}"),
                )
            else:
                keep = (rule.criteria or t("source.as_long")).rstrip(".")
            lines.append(f"- {rule.description or rule.key.replace('_', ' ')}: {keep}")
        lines += [
            "",
            t("source.rights", link=f"{self.base_url}/privacy"),
            t("source.policy", link=f"{self.base_url}/policy"),
            "",
            t("sign_off", controller=controller.name),
            controller.email,
        ]
        return "\n".join(lines) + "\n"

    def _category(self, key: str) -> str:
        found = self.manifest.data_categories.get(key)
        return found.description if found else key


def _mark_sent(connection: Connection, outbox_id: int, sent_at: dt.datetime) -> None:
    """The outbox delivered an Art. 14 mail (``Outbox.on_sent``)."""
    connection.execute(
        update(source_receipts)
        .where(source_receipts.c.outbox_id == outbox_id, source_receipts.c.notice_status == QUEUED)
        .values(notice_status=SENT, notice_sent_at=sent_at, outbox_id=None)
    )
