"""What the staff console's dashboard shows, as plain rules: how much time open requests have
left, and what share of the people asked gave each consent.

- Days left are whole days until the deadline: 0 on its last day, negative once it has passed
  (the request is then overdue, GDPR Art. 12(3)). Open requests fall into fixed bands (overdue,
  0-3, 4-7, 8-14, 15 or more days), the bands a team plans its week by.
- A consent rate is, per brand and purpose, the share of people whose current answer grants
  the consent (``given`` or ``renewed``) among everyone with an answer (also ``refused``,
  ``withdrawn`` and ``expired``). A parent's consent for a child is not an answer of the person
  asked and is counted elsewhere; a soft opt-in relationship (the ``customer`` channel) is no
  consent at all and is not counted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

GRANTING = frozenset({"given", "renewed"})
BANDS: tuple[tuple[str, int | None, int | None], ...] = (
    ("overdue", None, -1),
    ("0-3 days", 0, 3),
    ("4-7 days", 4, 7),
    ("8-14 days", 8, 14),
    ("15+ days", 15, None),
)


def days_left(due_at: dt.datetime, now: dt.datetime) -> int:
    """Whole days until ``due_at``: 0 on its last day, negative once it has passed."""
    return math.floor((due_at - now) / dt.timedelta(days=1))


@dataclass(frozen=True, slots=True)
class Band:
    label: str
    count: int

    @property
    def overdue(self) -> bool:
        return self.label == BANDS[0][0]


def bands(due_dates: Iterable[dt.datetime], now: dt.datetime) -> list[Band]:
    """How many open requests fall in each band of days left (every band, empty ones too)."""
    counts = dict.fromkeys((label for label, _, _ in BANDS), 0)
    for due in due_dates:
        left = days_left(due, now)
        for label, low, high in BANDS:
            if (low is None or left >= low) and (high is None or left <= high):
                counts[label] += 1
                break
    return [Band(label, count) for label, count in counts.items()]


@dataclass(frozen=True, slots=True)
class ConsentRate:
    brand: str
    purpose: str
    granted: int
    answered: int

    @property
    def rate(self) -> float:
        return self.granted / self.answered if self.answered else 0.0


def consent_rates(answers: Iterable[tuple[str, str, str, int]]) -> list[ConsentRate]:
    """Rates from (brand, purpose, current action, people) counts, by purpose then brand."""
    granted: dict[tuple[str, str], int] = {}
    answered: dict[tuple[str, str], int] = {}
    for brand, purpose, action, people in answers:
        key = (brand, purpose)
        answered[key] = answered.get(key, 0) + people
        granted[key] = granted.get(key, 0) + (people if action in GRANTING else 0)
    return [
        ConsentRate(brand, purpose, granted[(brand, purpose)], answered[(brand, purpose)])
        for purpose, brand in sorted((p, b) for b, p in answered)
    ]


WAITING = frozenset({"pending", "queued"})
"""Receipts whose Art. 14 notice is owed and not yet delivered (queued: in the outbox)."""


@dataclass(frozen=True, slots=True)
class PartnerNotices:
    partner: str
    received: int
    told: int
    exempt: int
    waiting: int
    overdue: int
    undeliverable: int
    next_due: dt.datetime | None


def partner_notices(
    counts: Iterable[tuple[str, str, int, int, dt.datetime | None]],
) -> list[PartnerNotices]:
    """Per partner, in key order, from (partner, notice status, receipts, receipts past their
    due date, earliest due date) counts; statuses as ``charter.services.sources`` keeps them."""
    rows: dict[str, dict[str, int]] = {}
    due: dict[str, dt.datetime] = {}
    for partner, status, receipts, late, earliest in counts:
        row = rows.setdefault(
            partner,
            dict.fromkeys(("received", "sent", "exempt", "waiting", "overdue", "undeliverable"), 0),
        )
        row["received"] += receipts
        if status in WAITING:
            row["waiting"] += receipts
            row["overdue"] += late
            if earliest is not None and (partner not in due or earliest < due[partner]):
                due[partner] = earliest
        elif status in row:
            row[status] += receipts
    return [
        PartnerNotices(
            partner,
            row["received"],
            row["sent"],
            row["exempt"],
            row["waiting"],
            row["overdue"],
            row["undeliverable"],
            due.get(partner),
        )
        for partner, row in sorted(rows.items())
    ]
