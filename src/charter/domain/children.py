"""Children's data: who is a child, what a touchpoint may take from one, and when a parent's
consent is usable (GDPR Art. 8; the policy: nothing from anyone under 18 without a parent's or
guardian's consent, and an improper registration is cancelled and deleted at once).

- A person is a child when a birth date (``user.demographic.date_of_birth``) or an age in
  completed years (``user.demographic.age_range``, type integer) collected now puts them under
  the manifest's ``policy.child_age``; a subject once recorded as a child stays one until a
  later collection says otherwise.
- A touchpoint serves its purposes that need no consent, plus the consent purposes the person
  ticks. If any of those excludes minors the submission is refused; each that needs a parent's
  consent must have one, for that brand and purpose, in the consent ledger (channel ``parent``).
- Until a parent confirms, nothing but the parent's contact is kept (COPPA's "parent's online
  contact information, for the sole purpose of obtaining consent", the same idea): the calling
  service sends the submission again with the confirmed consent's id, which is used once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from charter.domain.consent import PARENT_CHANNEL, ConsentKey, ConsentRecord

BIRTH_DATE = "user.demographic.date_of_birth"
AGE = "user.demographic.age_range"
OLDEST = 130
"""Years beyond which a birth date is a typing error, not a person."""


def age_on(born: dt.date, today: dt.date) -> int:
    """Completed years on ``today``; someone born on 29 February turns a year older on
    1 March in common years (the day after 28 February), as most national laws count it."""
    years = today.year - born.year
    if (today.month, today.day) < (born.month, born.day):
        years -= 1
    return years


def birth_date_problem(born: dt.date, today: dt.date) -> str | None:
    """Why ``born`` cannot be a living person's birth date, or None."""
    if born > today:
        return "is in the future"
    if age_on(born, today) > OLDEST:
        return f"is more than {OLDEST} years ago"
    return None


def is_child(age: int, child_age: int) -> bool:
    return age < child_age


@dataclass(frozen=True, slots=True)
class PurposeMinors:
    """What a touchpoint's purpose needs to take a child's data."""

    key: str
    consent_basis: bool
    minors: str  # parental_consent | excluded | allowed


@dataclass(frozen=True, slots=True)
class Admission:
    excluded: tuple[str, ...]
    """Purposes served here that take no data of children at all."""
    parent_needed: tuple[str, ...]
    """Purposes served here that need a parent's consent the ledger does not hold."""

    @property
    def admitted(self) -> bool:
        return not self.excluded and not self.parent_needed


def admit_child(
    purposes: Sequence[PurposeMinors],
    consents_asked: Collection[str],
    parent_granted: Collection[str],
) -> Admission:
    """Whether a child's submission may be kept (see the module docstring)."""
    served = [p for p in purposes if not p.consent_basis or p.key in consents_asked]
    return Admission(
        excluded=tuple(p.key for p in served if p.minors == "excluded"),
        parent_needed=tuple(
            p.key for p in served if p.minors == "parental_consent" and p.key not in parent_granted
        ),
    )


def parent_granted(consents: Mapping[ConsentKey, ConsentRecord], brand: str) -> frozenset[str]:
    """The purposes of ``brand`` for which a parent's consent stands."""
    return frozenset(
        purpose
        for (of_brand, purpose, channel), record in consents.items()
        if of_brand == brand and channel == PARENT_CHANNEL and record.granted
    )


class ParentalStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    USED = "used"
    WITHDRAWN = "withdrawn"
    # A refused or expired request leaves no row: the parent's contact goes with it.


@dataclass(frozen=True, slots=True)
class ParentalConsentFacts:
    brand: str
    touchpoint: str
    status: ParentalStatus
    purposes: frozenset[str]
    """What the parent was asked to consent to (purposes needing a parent's consent)."""
    allowed_consents: frozenset[str]
    """The optional consent purposes the parent allowed."""
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Unusable:
    code: str
    message: str


def usable(
    facts: ParentalConsentFacts,
    *,
    brand: str,
    touchpoint: str,
    needed: Collection[str],
    consents_asked: Collection[str],
    now: dt.datetime,
) -> Unusable | None:
    """Why a submission may not rely on this parental consent, or None when it may."""
    if facts.brand != brand or facts.touchpoint != touchpoint:
        return Unusable(
            "parental_consent_mismatch",
            f"the parent consented to touchpoint '{facts.touchpoint}' of brand '{facts.brand}'",
        )
    if facts.status is ParentalStatus.PENDING:
        if now >= facts.expires_at:
            return Unusable("parental_consent_expired", "the parent did not answer in time")
        return Unusable(
            "parental_consent_pending", "the parent has not answered yet: try again later"
        )
    if facts.status is not ParentalStatus.CONFIRMED:
        return Unusable(
            "parental_consent_used",
            f"this parental consent is {facts.status.value}: a new one must be asked for",
        )
    if now >= facts.expires_at:
        return Unusable("parental_consent_expired", "the confirmed consent was not used in time")
    refused = sorted(set(consents_asked) - facts.allowed_consents)
    if refused:
        return Unusable(
            "consent_not_allowed_by_parent",
            f"the parent did not allow {', '.join(refused)}",
        )
    missing = sorted(set(needed) - facts.purposes - facts.allowed_consents)
    if missing:
        return Unusable(
            "parental_consent_incomplete",
            f"the parent was not asked about {', '.join(missing)}",
        )
    return None
