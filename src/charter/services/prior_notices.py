"""Prior notices: told before some data is collected (the policy, "Getting Help From Us": "we
may also collect diagnostic information about your product(s), in which case we will notify you
specifically in advance").

A touchpoint field may name a ``notices`` entry (``prior_notice``). ``PriorNoticeService.send``
mails that notice to the person through the outbox and records it; the outbox delivers it at
once and, in the transaction that deletes its row, sets the record's ``sent_at`` (see
``Outbox.on_sent``): a notice counts only once it really went. A submission carrying the field
is then accepted (``require_prior_notices``, called by collection) while a notice of that key
sent to the same person for the same brand covers the moment (``charter.domain.notices_rules``);
otherwise it is refused whole with ``prior_notice_required``.

Who the notice goes to: the person is found by the identities given, or **created** when
unknown, as ``POST /v1/consents`` does. The notice is the first thing said to someone the brand
is about to collect from; keeping the address it went to (sealed, under a key that erasure
destroys) is what lets the later submission be checked against it and the access report show
it (Art. 5(2), accountability). Only identities the touchpoint itself declares are accepted,
so nothing is kept that the collection would not keep anyway.

The rows belong to the subject: erasure deletes them (cascade, or with the consents when a legal
hold keeps the subject), and a merge of subjects moves them (``SubjectRepository.merge``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from charter.domain.clock import Clock
from charter.domain.durations import Duration, parse_duration
from charter.domain.errors import InvalidInput, NotFound
from charter.domain.notices_rules import uncovered, valid_until
from charter.manifest.models import Manifest, Touchpoint
from charter.services.brands import require_brand
from charter.services.identify import find_or_create, hash_identities, owners_of
from charter.services.outbox import Message, Outbox
from charter.services.package_manifest import duration_in_words
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import prior_notices_sent

KIND = "prior_notice"
"""The outbox kind of a prior notice's mail."""


@dataclass(frozen=True)
class SentNotice:
    id: str
    notice: str
    touchpoint: str
    sent_at: dt.datetime | None
    """``None`` while the outbox has not delivered it (it is retried; it covers nothing yet)."""
    valid_until: dt.datetime | None


def _valid_for(manifest: Manifest, notice: str) -> Duration:
    return parse_duration(str(manifest.notices[notice].valid_for))


def needed_notices(touchpoint: Touchpoint, fields: Iterable[str]) -> dict[str, str]:
    """Field -> notice key, for the ``fields`` of a submission that need a prior notice."""
    found: dict[str, str] = {}
    for name in fields:
        spec = touchpoint.fields.get(name)
        if spec is not None and spec.prior_notice is not None:
            found[name] = spec.prior_notice
    return found


def require_prior_notices(
    connection: Connection,
    manifest: Manifest,
    touchpoint_key: str,
    touchpoint: Touchpoint,
    brand: str,
    subjects: Collection[str],
    fields: Iterable[str],
    now: dt.datetime,
) -> None:
    """Refuse (422 ``prior_notice_required``) a submission carrying a field whose notice was not
    sent to this person for this brand, or no longer covers ``now``. ``subjects``: every
    subject the submission's identities name (they are about to be linked into one)."""
    needed = needed_notices(touchpoint, fields)
    if not needed:
        return
    sent: dict[str, list[dt.datetime | None]] = {}
    if subjects:
        for row in connection.execute(
            select(prior_notices_sent.c.notice, prior_notices_sent.c.sent_at).where(
                prior_notices_sent.c.subject_id.in_(sorted(subjects)),
                prior_notices_sent.c.brand == brand,
                prior_notices_sent.c.notice.in_(sorted(set(needed.values()))),
            )
        ):
            sent.setdefault(row.notice, []).append(utc(row.sent_at) if row.sent_at else None)
    valid_for = {key: _valid_for(manifest, key) for key in set(needed.values())}
    missing = uncovered(needed, sent, valid_for, now)
    if missing:
        field, notice = missing[0]
        raise InvalidInput(
            f"data.{field}: touchpoint '{touchpoint_key}' collects it only after the notice "
            f"'{notice}' ({manifest.notices[notice].name}) was sent to the person, within "
            f"{duration_in_words(str(manifest.notices[notice].valid_for))} before; send it with "
            "POST /v1/notices first; nothing was stored",
            code="prior_notice_required",
        )


def notices_of(connection: Connection, manifest: Manifest, subject_id: str) -> list[dict[str, Any]]:
    """The prior notices a subject was sent (delivered ones only), oldest first, for the
    access package (ISO times)."""
    rows = connection.execute(
        select(prior_notices_sent)
        .where(
            prior_notices_sent.c.subject_id == subject_id,
            prior_notices_sent.c.sent_at.is_not(None),
        )
        .order_by(prior_notices_sent.c.sent_at, prior_notices_sent.c.id)
    )
    return [
        {
            "notice": row.notice,
            "name": manifest.notices[row.notice].name
            if row.notice in manifest.notices
            else row.notice,
            "brand": row.brand,
            "touchpoint": row.touchpoint,
            "sent_at": utc(row.sent_at).isoformat(),
        }
        for row in rows
    ]


class PriorNoticeService:
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

    def send(
        self, *, brand: str, identities: Mapping[str, Any], notice: str, touchpoint: str
    ) -> SentNotice:
        """Mail ``notice`` to the person now, for the ``touchpoint`` whose field needs it."""
        spec = self.manifest.notices.get(notice)
        if spec is None:
            raise NotFound(f"no notice '{notice}' in the manifest", code="unknown_notice")
        tp = self.manifest.touchpoints.get(touchpoint)
        if tp is None:
            raise NotFound(
                f"no touchpoint '{touchpoint}' in the manifest", code="unknown_touchpoint"
            )
        if not any(f.prior_notice == notice for f in tp.fields.values()):
            raise InvalidInput(
                f"touchpoint '{touchpoint}' has no field needing notice '{notice}'",
                code="notice_not_needed",
            )
        require_brand(self.manifest, brand)
        if brand not in self.manifest.touchpoint_brands(tp):
            raise InvalidInput(
                f"touchpoint '{touchpoint}' is not offered by brand '{brand}'",
                code="brand_not_offered",
            )
        hashed = hash_identities(
            self.store.vault,
            identities,
            self.manifest.policy.default_phone_region,
            allowed=frozenset(kind.value for kind in tp.identities),
        )
        now = self.clock()
        notice_id = str(uuid.uuid4())
        with self.store.write() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            owners = owners_of(repo, hashed)
            given = next((value for key, value in hashed if key.kind == "email"), None)
            known = None
            if given is None and owners:
                for subject in sorted(set(owners.values())):
                    known = next(
                        (v for kind, v in repo.identities_of(subject) if kind == "email"), None
                    )
                    if known is not None:
                        break
            to = given or known
            if to is None:
                raise InvalidInput(
                    "identities: the notice goes by e-mail; give the person's email, or "
                    "identities of someone whose e-mail is known; nothing was sent",
                    code="email_required",
                )
            subject_id = find_or_create(repo, hashed, now, owners)
            outbox_id = self.outbox.enqueue(
                connection,
                Message(
                    to=to,
                    subject=f"{self.manifest.brands[brand].name}: {spec.subject}",
                    body=self._body(brand, notice),
                    kind=KIND,
                    sender=self.manifest.policy.controller.email,
                ),
                now,
            )
            connection.execute(
                insert(prior_notices_sent).values(
                    id=notice_id,
                    subject_id=subject_id,
                    brand=brand,
                    notice=notice,
                    touchpoint=touchpoint,
                    outbox_id=outbox_id,
                    queued_at=now,
                    sent_at=None,
                )
            )
            append_audit(
                connection,
                at=now,
                actor="system",
                action="prior_notice.queued",
                target=notice_id,
                details={"brand": brand, "notice": notice, "touchpoint": touchpoint},
            )
        # "In advance" means delivered: send it now, like a parent's mail, and read back when.
        self.outbox.deliver()
        with self.store.read() as connection:
            sent_at = connection.scalar(
                select(prior_notices_sent.c.sent_at).where(prior_notices_sent.c.id == notice_id)
            )
        sent = utc(sent_at) if sent_at is not None else None
        return SentNotice(
            id=notice_id,
            notice=notice,
            touchpoint=touchpoint,
            sent_at=sent,
            valid_until=valid_until(sent, _valid_for(self.manifest, notice)) if sent else None,
        )

    def _body(self, brand: str, notice: str) -> str:
        spec = self.manifest.notices[notice]
        controller = self.manifest.policy.controller
        period = duration_in_words(str(spec.valid_for))
        return (
            f"Hello,\n\n{spec.body.strip()}\n\n"
            f"This notice applies for {period} from the day you receive it "
            f"({self.manifest.brands[brand].name}).\n\n"
            f"How we use your data and your rights: {self.base_url}/policy\n"
            f"Your data and choices: {self.base_url}/privacy\n\n"
            f"{controller.name} privacy team\n{controller.email}\n"
        )


def _mark_sent(connection: Connection, outbox_id: int, sent_at: dt.datetime) -> None:
    """The outbox delivered the mail of a prior notice (``Outbox.on_sent``)."""
    connection.execute(
        update(prior_notices_sent)
        .where(prior_notices_sent.c.outbox_id == outbox_id, prior_notices_sent.c.sent_at.is_(None))
        .values(sent_at=sent_at, outbox_id=None)
    )
