"""The console's dashboard (``/admin``): open requests by days left, consent rates per purpose
and brand, open breaches by hours left, the last retention sweep, and the Art. 14 notices owed
for data received from partners. Read-only; the rules are
in ``charter.domain.dashboard``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, desc, func, select

from charter.domain.clock import Clock
from charter.domain.consent import CUSTOMER_CHANNEL, PARENT_CHANNEL
from charter.domain.dashboard import (
    WAITING,
    Band,
    ConsentRate,
    PartnerNotices,
    bands,
    consent_rates,
    partner_notices,
)
from charter.domain.requests import OPEN
from charter.storage.engine import utc
from charter.storage.store import Store
from charter.storage.tables import (
    audit_events,
    consent_events,
    rights_requests,
    source_receipts,
)


@dataclass(frozen=True)
class LastSweep:
    at: dt.datetime
    as_of: dt.datetime
    removed: int
    identities: int
    held: int
    consents_expired: int
    rules: dict[str, dict[str, int]]


@dataclass(frozen=True)
class Overview:
    now: dt.datetime
    open_requests: int
    bands: list[Band]
    consent_rates: list[ConsentRate]
    last_sweep: LastSweep | None
    partner_notices: list[PartnerNotices]


class DashboardService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def overview(self) -> Overview:
        now = self.clock()
        with self.store.read() as connection:
            due = [
                utc(at)
                for at in connection.scalars(
                    select(rights_requests.c.due_at).where(
                        rights_requests.c.status.in_([s.value for s in OPEN])
                    )
                )
            ]
            # Each person's current answer per brand and purpose: their latest event on any
            # channel but a parent's (an event with a later id wins a tie of times).
            latest = (
                select(
                    consent_events.c.brand,
                    consent_events.c.purpose,
                    consent_events.c.action,
                    func.row_number()
                    .over(
                        partition_by=(
                            consent_events.c.subject_id,
                            consent_events.c.brand,
                            consent_events.c.purpose,
                        ),
                        order_by=(desc(consent_events.c.occurred_at), desc(consent_events.c.id)),
                    )
                    .label("rank"),
                )
                # A parent's consent and a soft opt-in relationship are no person's consent.
                .where(consent_events.c.channel.not_in((PARENT_CHANNEL, CUSTOMER_CHANNEL)))
                .subquery()
            )
            answers = connection.execute(
                select(latest.c.brand, latest.c.purpose, latest.c.action, func.count())
                .where(latest.c.rank == 1)
                .group_by(latest.c.brand, latest.c.purpose, latest.c.action)
            ).all()
            sweep = connection.execute(
                select(audit_events.c.at, audit_events.c.details)
                .where(audit_events.c.action == "retention.sweep")
                .order_by(desc(audit_events.c.seq))
                .limit(1)
            ).first()
            late = source_receipts.c.notice_status.in_(WAITING) & (
                source_receipts.c.notice_due_at < now
            )
            receipts = connection.execute(
                select(
                    source_receipts.c.partner,
                    source_receipts.c.notice_status,
                    func.count(),
                    func.sum(case((late, 1), else_=0)),
                    func.min(source_receipts.c.notice_due_at),
                ).group_by(source_receipts.c.partner, source_receipts.c.notice_status)
            ).all()
        return Overview(
            now=now,
            open_requests=len(due),
            bands=bands(due, now),
            consent_rates=consent_rates((a, b, c, int(d)) for a, b, c, d in answers),
            last_sweep=_sweep(sweep),
            partner_notices=partner_notices(
                (partner, status, int(n), int(overdue or 0), utc(due) if due else None)
                for partner, status, n, overdue, due in receipts
            ),
        )


def _sweep(row: Any) -> LastSweep | None:
    if row is None:
        return None
    details = row.details
    rules = {
        key: {name: int(count) for name, count in counts.items()}
        for key, counts in details["rules"].items()
    }
    return LastSweep(
        at=utc(row.at),
        as_of=utc(dt.datetime.fromisoformat(details["as_of"])),
        removed=sum(r["removed"] for r in rules.values()),
        identities=sum(r["identities"] for r in rules.values()),
        held=sum(r["held"] for r in rules.values()),
        consents_expired=int(details.get("consents_expired", 0)),
        rules=rules,
    )
