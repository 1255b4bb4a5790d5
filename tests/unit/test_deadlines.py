"""Deadlines per jurisdiction: tables of cases, month ends and leap days included."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.deadlines import (
    CCPA,
    GDPR,
    add_business_days,
    add_months,
    can_extend,
    deadlines,
    extended,
    reminders_due,
    rule_for,
)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        ("2026-01-31 10:00", 1, "2026-02-28 10:00"),
        ("2028-01-31 10:00", 1, "2028-02-29 10:00"),  # leap year
        ("2026-03-31 09:30", 1, "2026-04-30 09:30"),
        ("2026-12-15 00:00", 1, "2027-01-15 00:00"),
        ("2026-11-30 12:00", 3, "2027-02-28 12:00"),
        ("2028-02-29 08:00", 12, "2029-02-28 08:00"),
    ],
)
def test_add_months_clamps_to_the_month_end(moment: str, months: int, expected: str) -> None:
    assert add_months(at(moment), months) == at(expected)


@pytest.mark.parametrize(
    ("received", "legal", "due"),
    [
        # 30 days come before the month in 31-day months...
        ("2026-03-01 10:00", "2026-04-01 10:00", "2026-03-31 10:00"),
        # ...the month comes first across February
        ("2026-01-31 10:00", "2026-02-28 10:00", "2026-02-28 10:00"),
        ("2028-01-31 10:00", "2028-02-29 10:00", "2028-02-29 10:00"),
        ("2026-02-01 10:00", "2026-03-01 10:00", "2026-03-01 10:00"),
        ("2026-04-01 10:00", "2026-05-01 10:00", "2026-05-01 10:00"),  # 30-day month: equal
        ("2026-12-31 23:59", "2027-01-31 23:59", "2027-01-30 23:59"),
    ],
)
def test_gdpr_due_is_the_earlier_of_a_month_and_thirty_days(
    received: str, legal: str, due: str
) -> None:
    found = deadlines(GDPR, at(received), promise_days=30)
    assert (found.legal_due_at, found.due_at, found.confirm_by) == (at(legal), at(due), None)


def test_ccpa_confirms_in_ten_business_days_and_answers_within_the_promise() -> None:
    received = at("2026-11-27 16:00")  # a Friday
    found = deadlines(CCPA, received, promise_days=30)
    assert found.confirm_by == at("2026-12-11 16:00")  # two working weeks later
    assert found.legal_due_at == at("2027-01-11 16:00")  # 45 days
    assert found.due_at == at("2026-12-27 16:00")  # the company's 30 days come first
    assert deadlines(CCPA, received, promise_days=60).due_at == found.legal_due_at


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        ("2026-11-27 09:00", 1, "2026-11-30 09:00"),  # Friday -> Monday
        ("2026-11-28 09:00", 1, "2026-11-30 09:00"),  # Saturday -> Monday
        ("2026-11-30 09:00", 5, "2026-12-07 09:00"),
        ("2026-11-30 09:00", 0, "2026-11-30 09:00"),
    ],
)
def test_business_days_skip_weekends(start: str, days: int, expected: str) -> None:
    assert add_business_days(at(start), days) == at(expected)


def test_one_extension_before_the_first_deadline() -> None:
    first = deadlines(GDPR, at("2026-01-31 10:00"), promise_days=30)
    assert can_extend(GDPR, first, at("2026-02-20 00:00"), extended=False) == ""
    later = extended(GDPR, first)
    assert later.due_at == at("2026-04-28 10:00")  # two months from the legal deadline
    assert "already" in can_extend(GDPR, later, at("2026-03-01 00:00"), extended=True)
    assert "before the deadline" in can_extend(GDPR, first, at("2026-02-28 10:00"), extended=False)
    ccpa = deadlines(CCPA, at("2026-11-27 16:00"), promise_days=30)
    assert extended(CCPA, ccpa).due_at == at("2027-02-25 16:00")  # 45 + 45 days


@pytest.mark.parametrize(
    ("jurisdiction", "rule"),
    [("US-CA", "ccpa"), ("us-ca", "ccpa"), ("DE", "gdpr"), (None, "gdpr"), ("US-NY", "gdpr")],
)
def test_rule_for(jurisdiction: str | None, rule: str) -> None:
    assert rule_for(jurisdiction).key == rule


def test_reminders_at_seven_three_and_one_days() -> None:
    due = at("2026-12-31 12:00")
    assert reminders_due(due, at("2026-12-24 11:59"), frozenset()) == []
    assert reminders_due(due, at("2026-12-24 12:00"), frozenset()) == [7]
    assert reminders_due(due, at("2026-12-28 13:00"), frozenset({7})) == [3]
    # after downtime: all passed, one message for the most urgent
    assert reminders_due(due, at("2026-12-30 13:00"), frozenset()) == [7, 3, 1]
    assert reminders_due(due, at("2026-12-30 13:00"), frozenset({7, 3, 1})) == []
    assert reminders_due(due, at("2027-01-01 00:00"), frozenset()) == []  # overdue instead
