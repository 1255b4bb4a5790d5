"""Storage limitation (GDPR Art. 5(1)(e)): which retention rule governs a value, when it
expires, and whether a legal hold keeps it.

A rule applies to a value when the value's category is covered by one of the rule's categories
(or the rule names none) and its touchpoint is one of the rule's touchpoints (or it names none).
When several apply, the most specific governs: a rule naming both categories and touchpoints,
then one naming only touchpoints, then one naming only categories; among rules equally
specific, a narrower category match (``user.contact.email`` over ``user.contact``), then the
first in the manifest. A rule with criteria but no period never expires anything by itself:
people apply the criteria (a forum post goes when it is unpublished).

A value expires when the rule's period, counted from its collection or from the person's last
activity, has run out: ``start + period <= as_of``, in calendar arithmetic (see
``charter.domain.durations``). A legal hold covering the value's category and touchpoint keeps
it until ``collected + hold period`` (the law's period runs from the record's creation).

Identities (email, phone, cookie id ...) have no touchpoint: only rules naming no touchpoints
apply to them by the rule above; when none does, the longest period among the rules covering
their category governs, as an identity serves every touchpoint it was given at. An identity is
only ever removed once none of its person's values is left.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from charter.domain.categories import covered_by_any, covers
from charter.domain.durations import Duration

COLLECTION = "collection"
LAST_ACTIVITY = "last_activity"


@dataclass(frozen=True, slots=True)
class Rule:
    key: str
    categories: tuple[str, ...]
    touchpoints: tuple[str, ...]
    period: Duration | None
    counted_from: str = COLLECTION
    action: str = "delete"

    def applies(self, category: str, touchpoint: str | None) -> bool:
        if self.categories and not covered_by_any(category, self.categories):
            return False
        return not self.touchpoints or touchpoint in self.touchpoints


@dataclass(frozen=True, slots=True)
class Hold:
    key: str
    categories: tuple[str, ...]
    touchpoints: tuple[str, ...]
    period: Duration

    def applies(self, category: str, touchpoint: str | None) -> bool:
        return touchpoint in self.touchpoints and covered_by_any(category, self.categories)


def _specificity(rule: Rule, category: str) -> tuple[int, int]:
    named = 2 if rule.categories and rule.touchpoints else 1 if rule.touchpoints else 0
    depth = max((p.count(".") + 1 for p in rule.categories if covers(p, category)), default=0)
    return named, depth


def governing_rule(rules: Sequence[Rule], category: str, touchpoint: str | None) -> Rule | None:
    """The rule that governs values of ``category`` collected at ``touchpoint``."""
    best: Rule | None = None
    for rule in rules:
        if rule.applies(category, touchpoint) and (
            best is None or _specificity(rule, category) > _specificity(best, category)
        ):
            best = rule
    return best


def identity_rule(rules: Sequence[Rule], category: str) -> Rule | None:
    """The rule governing an identity of ``category`` (see the module docstring)."""
    found = governing_rule(rules, category, None)
    if found is not None:
        return found
    timed = [
        r
        for r in rules
        if r.period is not None and r.touchpoints and r.applies(category, r.touchpoints[0])
    ]
    return max(timed, key=lambda r: r.period.approx_days() if r.period else 0.0, default=None)


def longest_hold(holds: Sequence[Hold], category: str, touchpoint: str | None) -> Hold | None:
    covering = [h for h in holds if h.applies(category, touchpoint)]
    return max(covering, key=lambda h: h.period.approx_days(), default=None)


def latest_start(period: Duration, as_of: dt.datetime) -> dt.datetime:
    """The latest start whose period has run out by ``as_of``: ``start <= latest_start(p, t)``
    exactly when ``p.after(start) <= t``, month-end clamping included, so that a database can
    select expired values with one comparison."""
    # ``after`` moves by months (clamped to the month's end), then adds days and seconds.
    moved = as_of - dt.timedelta(days=period.days, seconds=period.seconds)
    months = moved.year * 12 + moved.month - 1 - period.months - 12 * period.years
    year, month = divmod(months, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    moved_last = calendar.monthrange(moved.year, moved.month)[1]
    if moved.day == moved_last and moved_last <= last:
        # ``moved`` is its month's end: every later day of the start month clamps onto it.
        return moved.replace(year=year, month=month, day=last)
    if moved.day > last:
        # Every day of the (shorter) start month lands before ``moved``'s day, at any time.
        return dt.datetime.combine(dt.date(year, month, last), dt.time.max, moved.tzinfo)
    return moved.replace(year=year, month=month)


def expired(
    rule: Rule, collected_at: dt.datetime, last_activity_at: dt.datetime, as_of: dt.datetime
) -> bool:
    if rule.period is None:
        return False
    start = last_activity_at if rule.counted_from == LAST_ACTIVITY else collected_at
    return rule.period.after(start) <= as_of


def held(hold: Hold | None, collected_at: dt.datetime, as_of: dt.datetime) -> bool:
    return hold is not None and hold.period.after(collected_at) > as_of
