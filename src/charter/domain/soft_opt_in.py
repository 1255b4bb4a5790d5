"""The soft opt-in: e-mail marketing to existing customers (ePrivacy Directive Art. 13(2)).

Contact details obtained from a customer in the context of a sale may be used for direct
marketing of the company's own similar products, provided customers are clearly and distinctly
given the opportunity to object, free of charge and easily, when the details are collected and
on the occasion of each message. So:

- A submission at a touchpoint that a ``soft_opt_in`` purpose names in ``established_by`` (a
  sale, a product registration) makes the person an existing customer of that brand for that
  purpose: a ``given`` entry on the ledger's ``customer`` channel, dated at the sale, with the
  opt-out notice shown beside the form as its evidence. It is not a consent and is never
  counted as one.
- The opt-out is offered at that collection: a submission may name the purpose in
  ``opt_outs``, which records the relationship (the offer was made) and an objection to the
  purpose (the offer was taken) together. Only purposes established at that touchpoint can be
  opted out of there; anything else is refused, nothing stored.
- With ``lapses_after``, a relationship whose latest establishing submission is that old is
  no longer an existing customer's (``expired``); a new sale establishes it again.
- The opt-out in every message is the unsubscribe link of every marketing send and the
  objection (Art. 21(2)-(3) GDPR), which blocks the purpose at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from charter.domain.consent import ConsentRecord
from charter.domain.decisions import MARKETING_OBJECTION
from charter.domain.durations import Duration
from charter.domain.errors import InvalidInput
from charter.domain.retention import latest_start


@dataclass(frozen=True, slots=True)
class SoftOptInRule:
    """One ``soft_opt_in`` purpose, as the manifest gives it."""

    purpose: str
    established_by: frozenset[str]
    opt_out_notice: str
    lapses_after: Duration | None = None
    version: int = 1


class RelationshipStatus(StrEnum):
    ESTABLISHED = "established"
    OPTED_OUT = "opted_out"


@dataclass(frozen=True, slots=True)
class Offer:
    """A soft opt-in purpose a submission establishes, the opt-out notice shown, and whether
    the person took the opt-out (at this collection, or by an objection that stands)."""

    purpose: str
    status: RelationshipStatus
    notice: str


def offered_at(
    rules: Sequence[SoftOptInRule], touchpoint: str, purposes: Collection[str]
) -> list[SoftOptInRule]:
    """The soft opt-in purposes a submission at ``touchpoint`` (serving ``purposes``)
    establishes, in manifest order."""
    return [r for r in rules if touchpoint in r.established_by and r.purpose in purposes]


def check_opt_outs(
    opt_outs: Sequence[str], offered: Sequence[SoftOptInRule], touchpoint: str
) -> frozenset[str]:
    """The purposes opted out of at collection; refused (``opt_out_not_offered``,
    ``duplicate_opt_out``) unless each is a soft opt-in purpose established here, once."""
    keys = {r.purpose for r in offered}
    seen: set[str] = set()
    for index, purpose in enumerate(opt_outs):
        if purpose not in keys:
            offers = ", ".join(sorted(keys)) or "none"
            raise InvalidInput(
                f"opt_outs[{index}]: touchpoint '{touchpoint}' offers no opt-out of "
                f"'{purpose}' (it offers: {offers})",
                code="opt_out_not_offered",
            )
        if purpose in seen:
            raise InvalidInput(
                f"opt_outs[{index}]: '{purpose}' is given twice", code="duplicate_opt_out"
            )
        seen.add(purpose)
    return frozenset(seen)


def offers(
    offered: Sequence[SoftOptInRule], opt_outs: Collection[str], objections: Collection[str]
) -> list[Offer]:
    """What a receipt says of each relationship a submission establishes: ``opted_out`` when
    opted out now or an objection to the purpose, or to all direct marketing, stands."""
    return [
        Offer(
            r.purpose,
            RelationshipStatus.OPTED_OUT
            if r.purpose in opt_outs or r.purpose in objections or MARKETING_OBJECTION in objections
            else RelationshipStatus.ESTABLISHED,
            r.opt_out_notice,
        )
        for r in offered
    ]


def lapsed(record: ConsentRecord | None, lapses_after: Duration, now: dt.datetime) -> bool:
    """Whether a standing relationship has lapsed by ``now``: its latest establishing entry
    is at least ``lapses_after`` old (month ends clamp as in retention). A relationship already
    ended, or never established, does not lapse again."""
    return record is not None and record.granted and record.at <= latest_start(lapses_after, now)


def due_to_lapse(
    records: Mapping[tuple[str, str, str], ConsentRecord | None],
    lapses_after: Mapping[str, Duration],
    now: dt.datetime,
) -> list[tuple[str, str, str]]:
    """The (subject, brand, purpose) keys of ``records`` whose relationship has lapsed, sorted
    (``records`` maps each to its current customer-channel record)."""
    return sorted(
        key
        for key, record in records.items()
        if key[2] in lapses_after and lapsed(record, lapses_after[key[2]], now)
    )
