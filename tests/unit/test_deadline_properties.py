"""Rights-request deadlines as properties (``charter.domain.deadlines``), for any moment of
receipt, month ends and leap days weighted in, under both laws."""

from __future__ import annotations

import calendar
import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from charter.domain.deadlines import (
    CCPA,
    GDPR,
    REMINDER_DAYS,
    DeadlineRule,
    add_business_days,
    add_months,
    deadlines,
    extended,
    reminders_due,
)

_times = st.times()


@st.composite
def _month_end(draw: st.DrawFn) -> dt.datetime:
    """The last day of a month, or 29 February of a leap year, or a day or two before."""
    year = draw(st.integers(1990, 2100))
    month = draw(st.integers(1, 12))
    last = calendar.monthrange(year, month)[1]
    day = last - draw(st.integers(0, 2))
    return dt.datetime.combine(dt.date(year, month, day), draw(_times), dt.UTC)


moments = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1990, 1, 1),
        max_value=dt.datetime(2100, 12, 1),
        timezones=st.just(dt.UTC),
    ),
    _month_end(),
)
rules = st.sampled_from([GDPR, CCPA])
promises = st.integers(1, 90)  # the policy's response_deadline_days


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@given(moments, st.integers(0, 36))
def test_add_months_is_the_same_day_or_the_month_end(moment: dt.datetime, months: int) -> None:
    result = add_months(moment, months)
    year, month0 = divmod(moment.year * 12 + moment.month - 1 + months, 12)
    assert (result.year, result.month) == (year, month0 + 1)
    assert result.day == min(moment.day, _last_day(result.year, result.month))
    assert (result.timetz(), result.tzinfo) == (moment.timetz(), moment.tzinfo)
    assert result >= moment


@given(rules, moments, promises)
def test_a_request_is_due_after_receipt_and_never_later_than_law_or_promise(
    rule: DeadlineRule, received: dt.datetime, promise: int
) -> None:
    due = deadlines(rule, received, promise)
    assert received < due.due_at <= due.legal_due_at
    assert due.due_at <= received + dt.timedelta(days=promise)
    if rule is GDPR:
        # "Within one month of receipt" (Art. 12(3)): never past the same date next month.
        assert due.legal_due_at == add_months(received, 1)
        assert due.legal_due_at <= received + dt.timedelta(days=31)
        assert due.confirm_by is None
    else:
        assert due.legal_due_at == received + dt.timedelta(days=45)
        assert due.confirm_by == add_business_days(received, 10)


@given(moments, st.integers(0, 30))
def test_business_days_skip_weekends(moment: dt.datetime, days: int) -> None:
    result = add_business_days(moment, days)
    assert result.time() == moment.time()
    passed = [moment + dt.timedelta(days=n) for n in range(1, (result - moment).days + 1)]
    assert sum(day.weekday() < 5 for day in passed) == days
    assert days == 0 or result.weekday() < 5


@given(rules, moments, promises)
def test_the_extension_never_shortens(
    rule: DeadlineRule, received: dt.datetime, promise: int
) -> None:
    first = deadlines(rule, received, promise)
    later = extended(rule, first)
    assert later.due_at == later.legal_due_at
    assert later.legal_due_at > first.legal_due_at >= first.due_at
    assert later.confirm_by == first.confirm_by
    if rule is GDPR:  # "by two further months", from the first deadline
        assert later.legal_due_at == add_months(first.legal_due_at, 2)
    else:
        assert later.legal_due_at == first.legal_due_at + dt.timedelta(days=45)


@given(
    moments,
    st.integers(-86_400 * 10, 86_400 * 10),
    st.frozensets(st.sampled_from(REMINDER_DAYS)),
)
def test_reminders_are_the_unsent_ones_within_a_week_of_the_due_date(
    due_at: dt.datetime, seconds_before_due: int, sent: frozenset[int]
) -> None:
    now = due_at - dt.timedelta(seconds=seconds_before_due)
    due = reminders_due(due_at, now, sent)
    assert not set(due) & sent
    assert due == sorted(due, reverse=True)  # the most urgent last
    for days in due:
        assert due_at - dt.timedelta(days=days) <= now < due_at
        assert due_at - now <= dt.timedelta(days=7)
    missing = [
        days
        for days in REMINDER_DAYS
        if days not in sent and due_at - dt.timedelta(days=days) <= now < due_at
    ]
    assert due == missing
