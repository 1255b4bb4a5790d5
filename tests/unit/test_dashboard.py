"""The dashboard's rules: bands of days left, consent rates."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.dashboard import (
    PartnerNotices,
    bands,
    consent_rates,
    days_left,
    partner_notices,
)

NOW = dt.datetime(2026, 11, 29, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("due", "left"),
    [
        (NOW + dt.timedelta(hours=1), 0),  # the last day
        (NOW + dt.timedelta(days=1), 1),
        (NOW - dt.timedelta(minutes=1), -1),  # just overdue
        (NOW - dt.timedelta(days=2, minutes=1), -3),
    ],
)
def test_days_left(due: dt.datetime, left: int) -> None:
    assert days_left(due, NOW) == left


def test_every_band_is_shown_and_each_request_counts_once() -> None:
    days = [-5, -1, 0, 3, 4, 7, 8, 14, 15, 60]
    found = bands([NOW + dt.timedelta(days=d, hours=1) for d in days], NOW)
    assert [(b.label, b.count) for b in found] == [
        ("overdue", 2),
        ("0-3 days", 2),
        ("4-7 days", 2),
        ("8-14 days", 2),
        ("15+ days", 2),
    ]
    assert [b.overdue for b in found] == [True, False, False, False, False]
    assert [b.count for b in bands([], NOW)] == [0, 0, 0, 0, 0]


def test_a_rate_counts_current_answers_and_renewals_grant() -> None:
    rates = consent_rates(
        [
            ("zeta", "news", "given", 1),
            ("acme", "news", "given", 6),
            ("acme", "news", "renewed", 2),
            ("acme", "news", "withdrawn", 1),
            ("acme", "news", "refused", 1),
            ("acme", "ads", "expired", 4),
        ]
    )
    assert [(r.purpose, r.brand, r.granted, r.answered) for r in rates] == [
        ("ads", "acme", 0, 4),
        ("news", "acme", 8, 10),
        ("news", "zeta", 1, 1),
    ]
    assert [r.rate for r in rates] == [0.0, 0.8, 1.0]


def test_partner_notices_sum_statuses_and_keep_the_earliest_due_date() -> None:
    early = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    late = dt.datetime(2026, 12, 20, tzinfo=dt.UTC)
    rows = partner_notices(
        [
            ("tunecast", "sent", 4, 0, None),
            ("loopworks", "pending", 2, 1, late),
            ("loopworks", "queued", 1, 1, early),
            ("loopworks", "sent", 5, 0, None),
            ("loopworks", "undeliverable", 1, 0, None),
            ("chirp", "exempt", 3, 0, None),
        ]
    )
    assert rows == [
        PartnerNotices("chirp", 3, 0, 3, 0, 0, 0, None),
        PartnerNotices("loopworks", 9, 5, 0, 3, 2, 1, early),
        PartnerNotices("tunecast", 4, 4, 0, 0, 0, 0, None),
    ]
    assert partner_notices([]) == []
