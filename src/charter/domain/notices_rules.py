"""Notices tied to collection: the prior notice some data needs, and the Art. 14 notice owed for
data received from others. Standard library only; the services keep the rows.

- **Prior notice** (the policy: diagnostics are collected only after "we will notify you
  specifically in advance"; GDPR Art. 5(1)(a) and 13(1)): a field whose spec names a notice is
  accepted only while a notice of that key, *delivered* to the same person for the same brand,
  covers the moment of collection: ``sent_at <= now <= sent_at + valid_for``. A notice queued
  but not delivered yet covers nothing; neither does one sent after the moment.
- **Source** (Art. 14(2)(f)): a submission at a ``partner`` or ``social_media`` touchpoint names
  the partner it came from, one of those the touchpoint lists, and for a partner of kind
  ``partner`` one of its agreements (a social platform has terms of service, not an agreement
  with us, so it may have none). A submission at a touchpoint collecting from the person names
  no source.
- **Art. 14 notice**: due at the latest one month after the data was received (Art. 14(3)(a);
  a month counted as ``charter.domain.durations`` does, 31 January -> 28/29 February), unless
  the partner's exemption under Art. 14(5) applies. One mail per person and brand covers all
  of that person's receipts still untold for the brand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from charter.domain.durations import Duration
from charter.domain.errors import InvalidInput

ART14_PERIOD = Duration(months=1)
"""Art. 14(3)(a): "within a reasonable period after obtaining the personal data, but at the
latest within one month"."""

PARTNER = "partner"
SOCIAL_MEDIA = "social_media"
RECEIVING = frozenset({PARTNER, SOCIAL_MEDIA})
"""Touchpoint sources whose data comes from someone else than the person (Art. 14)."""


# -- prior notices -----------------------------------------------------------------------------


def valid_until(sent_at: dt.datetime, valid_for: Duration) -> dt.datetime:
    """The last instant a notice delivered at ``sent_at`` covers."""
    return valid_for.after(sent_at)


def notice_covers(sent_at: dt.datetime | None, valid_for: Duration, now: dt.datetime) -> bool:
    """Whether a notice delivered at ``sent_at`` (``None``: not delivered yet) covers a
    collection at ``now``: sent before, and ``now`` within ``valid_for`` of it, ends included."""
    return sent_at is not None and sent_at <= now <= valid_until(sent_at, valid_for)


def uncovered(
    needed: Mapping[str, str],
    sent: Mapping[str, Iterable[dt.datetime | None]],
    valid_for: Mapping[str, Duration],
    now: dt.datetime,
) -> list[tuple[str, str]]:
    """The (field, notice) pairs of ``needed`` (field -> notice key) that no notice of that key
    in ``sent`` (notice key -> delivery times) covers at ``now``, in the order of ``needed``."""
    return [
        (field, notice)
        for field, notice in needed.items()
        if not any(notice_covers(at, valid_for[notice], now) for at in sent.get(notice, ()))
    ]


# -- sources (Art. 14) -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a submission's data came from: a partner key and the agreement it came under."""

    partner: str
    agreement: str | None = None


@dataclass(frozen=True, slots=True)
class PartnerTerms:
    kind: str
    """``partner`` or ``social_media``."""
    agreements: tuple[str, ...] = ()
    exempt: bool = False


def check_source(
    touchpoint: str,
    source_kind: str,
    listed: Sequence[str],
    partners: Mapping[str, PartnerTerms],
    given: SourceRef | None,
) -> None:
    """Refuse (``InvalidInput``) a submission whose source does not match its touchpoint: see
    the module docstring. Codes: ``source_required``, ``source_not_expected``,
    ``unknown_partner``, ``unknown_agreement``."""
    if source_kind not in RECEIVING:
        if given is not None:
            raise InvalidInput(
                f"source: touchpoint '{touchpoint}' collects from the person; a submission "
                "there names no partner",
                code="source_not_expected",
            )
        return
    if given is None:
        raise InvalidInput(
            f"source: touchpoint '{touchpoint}' receives data from others; say which partner "
            f"sent it and under which agreement (one of: {', '.join(listed)}) (GDPR Art. 14)",
            code="source_required",
        )
    if given.partner not in listed or given.partner not in partners:
        raise InvalidInput(
            f"source.partner: '{given.partner}' is not a partner touchpoint '{touchpoint}' "
            f"receives from (one of: {', '.join(listed)})",
            code="unknown_partner",
        )
    terms = partners[given.partner]
    if given.agreement is None:
        if terms.kind == SOCIAL_MEDIA and not terms.agreements:
            return
        raise InvalidInput(
            f"source.agreement: name the agreement under which '{given.partner}' sent the data "
            f"(one of: {', '.join(terms.agreements)})",
            code="unknown_agreement",
        )
    if given.agreement not in terms.agreements:
        known = ", ".join(terms.agreements) or "none is recorded"
        raise InvalidInput(
            f"source.agreement: '{given.agreement}' is not an agreement of partner "
            f"'{given.partner}' ({known})",
            code="unknown_agreement",
        )


def art14_due(received_at: dt.datetime) -> dt.datetime:
    """When the person must have been told at the latest (Art. 14(3)(a))."""
    return ART14_PERIOD.after(received_at)


@dataclass(frozen=True, slots=True)
class Receipt:
    """One submission received from a partner whose person is still to be told."""

    id: int
    subject_id: str
    brand: str
    partner: str
    received_at: dt.datetime
    due_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NoticeBatch:
    """What one Art. 14 mail covers: a person's untold receipts for one brand."""

    subject_id: str
    brand: str
    receipts: tuple[Receipt, ...]

    @property
    def due_at(self) -> dt.datetime:
        return min(r.due_at for r in self.receipts)

    @property
    def partners(self) -> list[str]:
        return list(dict.fromkeys(r.partner for r in self.receipts))


def batches(pending: Iterable[Receipt]) -> list[NoticeBatch]:
    """Group untold receipts into mails, one per person and brand, each holding its receipts
    oldest first; the mail whose ceiling comes first goes first."""
    grouped: dict[tuple[str, str], list[Receipt]] = {}
    for receipt in sorted(pending, key=lambda r: (r.received_at, r.id)):
        grouped.setdefault((receipt.subject_id, receipt.brand), []).append(receipt)
    found = [NoticeBatch(s, b, tuple(rs)) for (s, b), rs in grouped.items()]
    return sorted(found, key=lambda batch: (batch.due_at, batch.subject_id, batch.brand))


def overdue(pending: Iterable[Receipt], now: dt.datetime) -> list[Receipt]:
    """Receipts whose person is still untold after the legal ceiling."""
    return [r for r in pending if r.due_at < now]
