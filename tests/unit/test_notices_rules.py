"""The pure rules of prior notices and Art. 14 notices (``charter.domain.notices_rules``)."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.durations import Duration, parse_duration
from charter.domain.errors import InvalidInput
from charter.domain.notices_rules import (
    PartnerTerms,
    Receipt,
    SourceRef,
    art14_due,
    batches,
    check_source,
    notice_covers,
    overdue,
    uncovered,
    valid_until,
)

SENT = dt.datetime(2026, 1, 31, 10, tzinfo=dt.UTC)
P30D = parse_duration("P30D")


@pytest.mark.parametrize(
    ("sent_at", "now", "covers"),
    [
        (SENT, SENT, True),  # the moment it went
        (SENT, SENT + dt.timedelta(days=30), True),  # its last instant
        (SENT, SENT + dt.timedelta(days=30, seconds=1), False),  # lapsed
        (SENT, SENT - dt.timedelta(seconds=1), False),  # sent after the collection
        (None, SENT, False),  # queued, not delivered
    ],
)
def test_a_notice_covers_from_its_delivery_for_valid_for(
    sent_at: dt.datetime | None, now: dt.datetime, covers: bool
) -> None:
    assert notice_covers(sent_at, P30D, now) is covers


def test_valid_for_in_months_is_calendar_arithmetic() -> None:
    assert valid_until(SENT, Duration(months=1)) == dt.datetime(2026, 2, 28, 10, tzinfo=dt.UTC)


def test_uncovered_lists_each_field_without_a_covering_notice() -> None:
    needed = {"diagnostics": "diag", "logs": "diag", "config": "other"}
    sent = {"diag": [None, SENT], "other": [SENT - dt.timedelta(days=40)]}
    valid = {"diag": P30D, "other": P30D}
    assert uncovered(needed, sent, valid, SENT + dt.timedelta(days=1)) == [("config", "other")]
    assert uncovered(needed, {}, valid, SENT) == list(needed.items())


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt.datetime(2026, 3, 15, 8, tzinfo=dt.UTC), dt.datetime(2026, 4, 15, 8, tzinfo=dt.UTC)),
        (dt.datetime(2026, 1, 31, 8, tzinfo=dt.UTC), dt.datetime(2026, 2, 28, 8, tzinfo=dt.UTC)),
        (dt.datetime(2028, 1, 31, 8, tzinfo=dt.UTC), dt.datetime(2028, 2, 29, 8, tzinfo=dt.UTC)),
        (dt.datetime(2026, 12, 31, 8, tzinfo=dt.UTC), dt.datetime(2027, 1, 31, 8, tzinfo=dt.UTC)),
    ],
)
def test_the_art14_notice_is_due_one_calendar_month_after_receipt(
    received: dt.datetime, due: dt.datetime
) -> None:
    assert art14_due(received) == due


PARTNERS = {
    "loopworks": PartnerTerms("partner", ("LW-1", "LW-2")),
    "chirp": PartnerTerms("social_media", (), exempt=True),
    "pages": PartnerTerms("social_media", ("TOS-1",)),
}


@pytest.mark.parametrize(
    ("kind", "listed", "given", "code"),
    [
        ("partner", ["loopworks"], None, "source_required"),
        ("social_media", ["chirp"], None, "source_required"),
        ("partner", ["loopworks"], SourceRef("tunecast", "LW-1"), "unknown_partner"),
        ("partner", ["loopworks"], SourceRef("chirp"), "unknown_partner"),  # not listed here
        ("partner", ["loopworks"], SourceRef("loopworks", "LW-9"), "unknown_agreement"),
        ("partner", ["loopworks"], SourceRef("loopworks"), "unknown_agreement"),
        ("social_media", ["pages"], SourceRef("pages"), "unknown_agreement"),  # it has one
        ("direct", [], SourceRef("loopworks", "LW-1"), "source_not_expected"),
        ("automatic", [], SourceRef("loopworks", "LW-1"), "source_not_expected"),
    ],
)
def test_a_source_that_does_not_fit_the_touchpoint_is_refused(
    kind: str, listed: list[str], given: SourceRef | None, code: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_source("tp", kind, listed, PARTNERS, given)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("kind", "listed", "given"),
    [
        ("partner", ["loopworks"], SourceRef("loopworks", "LW-2")),
        ("social_media", ["chirp"], SourceRef("chirp")),  # a platform with no agreement
        ("social_media", ["pages"], SourceRef("pages", "TOS-1")),
        ("direct", [], None),
    ],
)
def test_a_fitting_source_passes(kind: str, listed: list[str], given: SourceRef | None) -> None:
    check_source("tp", kind, listed, PARTNERS, given)


def _receipt(i: int, subject: str, brand: str, partner: str, day: int) -> Receipt:
    received = dt.datetime(2026, 5, day, tzinfo=dt.UTC)
    return Receipt(i, subject, brand, partner, received, art14_due(received))


def test_one_mail_per_person_and_brand_covers_all_their_receipts() -> None:
    pending = [
        _receipt(1, "ann", "acme", "loopworks", 3),
        _receipt(2, "bob", "acme", "loopworks", 1),
        _receipt(3, "ann", "acme", "tunecast", 2),
        _receipt(4, "ann", "zeta", "loopworks", 4),
        _receipt(5, "ann", "acme", "loopworks", 5),
    ]
    found = batches(pending)
    assert [(b.subject_id, b.brand, [r.id for r in b.receipts]) for b in found] == [
        ("bob", "acme", [2]),  # due first
        ("ann", "acme", [3, 1, 5]),  # oldest receipt first
        ("ann", "zeta", [4]),
    ]
    assert found[1].partners == ["tunecast", "loopworks"]
    assert found[1].due_at == art14_due(dt.datetime(2026, 5, 2, tzinfo=dt.UTC))
    assert batches([]) == []


def test_overdue_receipts_are_those_past_their_ceiling() -> None:
    pending = [_receipt(1, "ann", "acme", "lw", 1), _receipt(2, "bob", "acme", "lw", 20)]
    now = dt.datetime(2026, 6, 10, tzinfo=dt.UTC)
    assert [r.id for r in overdue(pending, now)] == [1]
    assert overdue(pending, dt.datetime(2026, 6, 1, tzinfo=dt.UTC)) == []
