"""Retention rules: which governs, when a value expires, what a legal hold keeps."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.domain.durations import Duration, parse_duration
from charter.domain.retention import (
    LAST_ACTIVITY,
    Hold,
    Rule,
    expired,
    governing_rule,
    held,
    identity_rule,
    latest_start,
    longest_hold,
)

P = parse_duration
ACCOUNTS = Rule(
    "accounts", ("user.name", "user.contact"), ("registration",), P("P3Y"), LAST_ACTIVITY
)
MARKETING = Rule("marketing", ("user.name", "user.contact"), ("signup",), P("P2Y"), LAST_ACTIVITY)
IPS = Rule("ips", ("user.device.ip_address",), (), P("P1Y"))
LOGS = Rule("logs", (), ("visit",), P("P90D"))
EMAILS = Rule("emails", ("user.contact.email",), (), P("P6M"))
CONTACT = Rule("contact", ("user.contact",), (), P("P1Y"))
FORUM = Rule("forum", ("user.content.public",), ("forum",), None)
RULES = (ACCOUNTS, MARKETING, IPS, LOGS, EMAILS, CONTACT, FORUM)


@pytest.mark.parametrize(
    ("category", "touchpoint", "expected"),
    [
        ("user.contact.email", "registration", ACCOUNTS),  # categories + touchpoints win
        ("user.contact.email", "signup", MARKETING),
        ("user.device.ip_address", "visit", LOGS),  # a touchpoint rule beats a category rule
        ("user.device.ip_address", "registration", IPS),
        ("user.contact.email", "support", EMAILS),  # the narrower category wins
        ("user.contact.phone_number", "support", CONTACT),
        ("user.content.public", "forum", FORUM),
        ("user.content.public", "support", None),
        ("user.name", "visit", LOGS),
    ],
)
def test_the_most_specific_rule_governs(
    category: str, touchpoint: str, expected: Rule | None
) -> None:
    assert governing_rule(RULES, category, touchpoint) == expected


def test_equally_specific_rules_the_first_governs() -> None:
    twin = Rule("twin", ("user.device.ip_address",), (), P("P5Y"))
    assert governing_rule((IPS, twin), "user.device.ip_address", "x") is IPS


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("user.contact.email", EMAILS),  # a rule naming no touchpoint applies as is
        ("user.name", ACCOUNTS),  # else the longest of the timed rules covering it
        ("user.unique_id", LOGS),  # a touchpoint-only rule covers every category there
    ],
)
def test_an_identity_follows_its_category(category: str, expected: Rule) -> None:
    assert identity_rule(RULES, category) == expected


AT = dt.datetime(2027, 3, 31, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("rule", "collected", "active", "expected"),
    [
        (IPS, dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC), AT, True),  # exactly a year
        (IPS, dt.datetime(2026, 3, 31, 12, 1, tzinfo=dt.UTC), AT, False),
        (ACCOUNTS, dt.datetime(2020, 1, 1, tzinfo=dt.UTC), AT, False),  # active just now
        (ACCOUNTS, AT, dt.datetime(2024, 3, 31, 12, 0, tzinfo=dt.UTC), True),
        (FORUM, dt.datetime(2000, 1, 1, tzinfo=dt.UTC), AT, False),  # criteria only
    ],
)
def test_a_value_expires_when_its_period_has_run_out(
    rule: Rule, collected: dt.datetime, active: dt.datetime, expected: bool
) -> None:
    assert expired(rule, collected, active, AT) is expected


def test_a_legal_hold_keeps_what_it_covers_for_its_period() -> None:
    tax = Hold("tax", ("user.name", "user.contact.address"), ("purchase",), P("P10Y"))
    short = Hold("short", ("user.name",), ("purchase",), P("P1Y"))
    assert longest_hold((short, tax), "user.name", "purchase") is tax
    assert longest_hold((short, tax), "user.name", "support") is None
    assert longest_hold((short, tax), "user.contact.email", "purchase") is None
    assert held(tax, dt.datetime(2018, 1, 1, tzinfo=dt.UTC), AT) is True
    assert held(tax, dt.datetime(2017, 3, 31, 12, 0, tzinfo=dt.UTC), AT) is False
    assert held(None, AT, AT) is False


@pytest.mark.parametrize(
    ("period", "as_of", "latest"),
    [
        ("P1M", "2027-02-28T12:00", "2027-01-31T12:00"),  # Jan 29-31 clamp to Feb 28
        ("P1M", "2027-02-27T12:00", "2027-01-27T12:00"),
        ("P1M", "2027-03-30T08:00", "2027-02-28T23:59:59.999999"),  # all of February
        ("P1M", "2027-03-28T08:00", "2027-02-28T08:00"),
        ("P1Y", "2028-02-29T00:00", "2027-02-28T23:59:59.999999"),  # leap day: all Feb 28
        ("P1Y", "2029-02-28T00:00", "2028-02-29T00:00"),
        ("P90D", "2027-03-31T00:00", "2026-12-31T00:00"),
        ("PT30M", "2027-01-01T00:10", "2026-12-31T23:40"),
    ],
)
def test_the_latest_start_that_has_expired(period: str, as_of: str, latest: str) -> None:
    utc = dt.UTC
    got = latest_start(P(period), dt.datetime.fromisoformat(as_of).replace(tzinfo=utc))
    assert got == dt.datetime.fromisoformat(latest).replace(tzinfo=utc)


moments = st.datetimes(
    min_value=dt.datetime(2020, 1, 1),
    max_value=dt.datetime(2030, 12, 31),
    timezones=st.just(dt.UTC),
)
durations = st.builds(
    Duration,
    years=st.integers(0, 3),
    months=st.integers(0, 25),
    days=st.integers(0, 400),
    seconds=st.integers(0, 86_400 * 2),
)


@given(durations, moments, moments)
def test_latest_start_agrees_with_the_calendar(
    period: Duration, start: dt.datetime, as_of: dt.datetime
) -> None:
    assert (start <= latest_start(period, as_of)) == (period.after(start) <= as_of)
