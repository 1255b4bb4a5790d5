"""Retention rules as properties (``charter.domain.retention``): which rule governs, when a
value expires, and how long a legal hold keeps it, for any rules and any moments."""

from __future__ import annotations

import calendar
import datetime as dt
import random

from hypothesis import given
from hypothesis import strategies as st

from charter.domain.categories import covers
from charter.domain.durations import Duration
from charter.domain.retention import (
    COLLECTION,
    LAST_ACTIVITY,
    Hold,
    Rule,
    expired,
    governing_rule,
    held,
    latest_start,
)

CATEGORIES = [
    "user",
    "user.contact",
    "user.contact.email",
    "user.contact.address",
    "user.contact.address.country",
    "user.name",
    "user.device.ip_address",
]
TOUCHPOINTS = ["signup", "purchase", "support"]


@st.composite
def _month_end(draw: st.DrawFn) -> dt.datetime:
    """The last day of a month (29 February in leap years), or a day before, at any time."""
    year = draw(st.integers(2000, 2040))
    month = draw(st.integers(1, 12))
    day = calendar.monthrange(year, month)[1] - draw(st.integers(0, 1))
    return dt.datetime.combine(dt.date(year, month, day), draw(st.times()), dt.UTC)


moments = st.one_of(
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2040, 12, 31),
        timezones=st.just(dt.UTC),
    ),
    _month_end(),
)
durations = st.one_of(
    # The shapes manifests use (P6M, P1Y, P3Y, P90D, PT12H) and mixtures of them.
    st.builds(Duration, months=st.integers(1, 24)),
    st.builds(Duration, years=st.integers(1, 10)),
    st.builds(Duration, days=st.integers(1, 800)),
    st.builds(Duration, seconds=st.integers(1, 86_400 * 3)),
    st.builds(
        Duration,
        years=st.integers(0, 3),
        months=st.integers(0, 25),
        days=st.integers(0, 400),
        seconds=st.integers(0, 86_400 * 2),
    ),
)
rules = st.builds(
    Rule,
    key=st.text("abcdefgh", min_size=1, max_size=6),
    categories=st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True).map(tuple),
    touchpoints=st.lists(st.sampled_from(TOUCHPOINTS), max_size=2, unique=True).map(tuple),
    period=st.none() | durations,
    counted_from=st.sampled_from([COLLECTION, LAST_ACTIVITY]),
)
categories = st.sampled_from([c for c in CATEGORIES if c != "user"])
touchpoints = st.none() | st.sampled_from(TOUCHPOINTS)


def _rank(rule: Rule, category: str) -> tuple[int, int]:
    """The documented order: categories and touchpoints, then touchpoints only, then categories
    only; among equals, the narrower category match."""
    named = 2 if rule.categories and rule.touchpoints else 1 if rule.touchpoints else 0
    depth = max((len(p.split(".")) for p in rule.categories if covers(p, category)), default=0)
    return named, depth


@given(st.lists(rules, max_size=8), categories, touchpoints)
def test_the_first_of_the_most_specific_applying_rules_governs(
    candidates: list[Rule], category: str, touchpoint: str | None
) -> None:
    applying = [r for r in candidates if r.applies(category, touchpoint)]
    expected = (
        next(r for r in applying if _rank(r, category) == max(_rank(a, category) for a in applying))
        if applying
        else None
    )
    assert governing_rule(candidates, category, touchpoint) is expected


@given(st.lists(rules, max_size=8), categories, touchpoints, st.randoms(use_true_random=False))
def test_reordering_rules_of_other_specificity_changes_nothing(
    candidates: list[Rule], category: str, touchpoint: str | None, rng: random.Random
) -> None:
    chosen = governing_rule(candidates, category, touchpoint)
    top = _rank(chosen, category) if chosen is not None else None
    # Any order, except that the rules as specific as the chosen one keep theirs: only among
    # equally specific rules does the manifest's order decide.
    equals = [
        r for r in candidates if r.applies(category, touchpoint) and _rank(r, category) == top
    ]
    shuffled = list(candidates)
    rng.shuffle(shuffled)
    slots = [i for i, r in enumerate(shuffled) if any(r is e for e in equals)]
    for slot, rule in zip(slots, equals, strict=True):
        shuffled[slot] = rule
    assert governing_rule(shuffled, category, touchpoint) is chosen


@given(rules, moments, moments, moments, moments)
def test_once_expired_a_value_stays_expired(
    rule: Rule, collected: dt.datetime, active: dt.datetime, t1: dt.datetime, t2: dt.datetime
) -> None:
    earlier, later = sorted((t1, t2))
    if expired(rule, collected, active, earlier):
        assert expired(rule, collected, active, later)


@given(rules, moments, moments, moments)
def test_expiry_is_one_comparison_with_the_latest_start(
    rule: Rule, collected: dt.datetime, active: dt.datetime, as_of: dt.datetime
) -> None:
    if rule.period is None:
        assert not expired(rule, collected, active, as_of)
        return
    start = active if rule.counted_from == LAST_ACTIVITY else collected
    assert expired(rule, collected, active, as_of) == (start <= latest_start(rule.period, as_of))


@given(durations, moments, moments)
def test_latest_start_agrees_with_the_calendar(
    period: Duration, start: dt.datetime, as_of: dt.datetime
) -> None:
    assert (start <= latest_start(period, as_of)) == (period.after(start) <= as_of)


@given(durations, moments)
def test_a_hold_ends_exactly_at_collection_plus_its_period(
    period: Duration, collected: dt.datetime
) -> None:
    hold = Hold("tax", ("user.name",), ("purchase",), period)
    end = period.after(collected)
    assert held(hold, collected, end - dt.timedelta(microseconds=1))
    assert not held(hold, collected, end)
    assert held(hold, collected, collected) == (period != Duration())
    assert not held(None, collected, collected)
