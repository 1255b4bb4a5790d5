"""When a rights request must be answered, per jurisdiction, as data.

Each law is a ``DeadlineRule``; the company's own promise (the policy's
``response_deadline_days``, 30 in the reference policy) applies on top of every law, so a request
is due at the earlier of the two. Rules:

- **GDPR** (Art. 12(3)): "without undue delay and in any event within one month of receipt".
  A period in months ends on the same date of the following month; when that month has no such
  date (received on 31 January), on its last day (Regulation 1182/71, Art. 3(2)(c)). It may be
  extended once "by two further months where necessary", the person told why before the first
  deadline. With the policy's 30 days, a request received on 1 March is due on 31 March (30 days
  come first) and one received on 31 January on 28 or 29 February (the month comes first).
- **CCPA** (Cal. Code Regs. tit. 11, 7021): confirm receipt within 10 business days, answer
  within 45 calendar days, extendable once by 45 more with notice inside the first 45. Business
  days are Monday to Friday; public holidays are not modelled (they only move the confirmation
  later, so ignoring them is the safe side).

Times are timezone-aware UTC; a deadline keeps the time of day of receipt. The law's period
runs to the end of its last day (Regulation 1182/71, Art. 3(2)), in the controller's time zone;
keeping the time of receipt makes Charter's deadline at most one day earlier than the law's and
never later, whatever zone the controller or the person is in, so staff and reminders work to a
moment that is always in time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from charter.domain.durations import Duration

REMINDER_DAYS = (7, 3, 1)
"""Staff are reminded this many days before a request is due."""


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    key: str
    law: str
    answer_days: int | None = None
    answer_months: int | None = None
    extension_days: int | None = None
    extension_months: int | None = None
    confirm_business_days: int | None = None


GDPR = DeadlineRule(
    key="gdpr",
    law="GDPR Art. 12(3)",
    answer_months=1,
    extension_months=2,
)
CCPA = DeadlineRule(
    key="ccpa",
    law="CCPA (Cal. Code Regs. tit. 11, 7021)",
    answer_days=45,
    extension_days=45,
    confirm_business_days=10,
)
RULES = {rule.key: rule for rule in (GDPR, CCPA)}

_CCPA_REGIONS = frozenset({"US-CA"})


def rule_for(jurisdiction: str | None) -> DeadlineRule:
    """The law a request is answered under: California (``US-CA``) is the CCPA; everyone else
    the GDPR, the stricter of the two, which the reference policy promises to all (a person
    anywhere is answered within 30 days)."""
    if jurisdiction is not None and jurisdiction.upper() in _CCPA_REGIONS:
        return CCPA
    return GDPR


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same date ``months`` later, clamped to the last day of a shorter month."""
    return Duration(months=months).after(moment)


def add_business_days(moment: dt.datetime, days: int) -> dt.datetime:
    """``days`` working days (Monday to Friday) after ``moment``."""
    result = moment
    while days > 0:
        result += dt.timedelta(days=1)
        if result.weekday() < 5:
            days -= 1
    return result


def _answer_by(rule: DeadlineRule, start: dt.datetime, *, extension: bool) -> dt.datetime:
    days = rule.extension_days if extension else rule.answer_days
    months = rule.extension_months if extension else rule.answer_months
    candidates = []
    if days is not None:
        candidates.append(start + dt.timedelta(days=days))
    if months is not None:
        candidates.append(add_months(start, months))
    if not candidates:
        raise ValueError(f"rule {rule.key} sets no {'extension' if extension else 'deadline'}")
    return min(candidates)


@dataclass(frozen=True, slots=True)
class Deadlines:
    rule: str
    legal_due_at: dt.datetime
    due_at: dt.datetime
    """The earlier of the law's deadline and the company's promise: the one staff work to."""
    confirm_by: dt.datetime | None


def deadlines(rule: DeadlineRule, received_at: dt.datetime, promise_days: int) -> Deadlines:
    legal = _answer_by(rule, received_at, extension=False)
    promised = received_at + dt.timedelta(days=promise_days)
    confirm = (
        add_business_days(received_at, rule.confirm_business_days)
        if rule.confirm_business_days is not None
        else None
    )
    return Deadlines(rule.key, legal, min(legal, promised), confirm)


def can_extend(rule: DeadlineRule, current: Deadlines, now: dt.datetime, *, extended: bool) -> str:
    """Why an extension is not possible now, or ``""`` when it is: once only, the law must allow
    it, and the person must be told before the first deadline passes."""
    if extended:
        return "the deadline was already extended once"
    if rule.extension_days is None and rule.extension_months is None:
        return f"{rule.law} allows no extension"
    if now >= current.due_at:
        return "an extension must be told to the person before the deadline passes"
    return ""


def extended(rule: DeadlineRule, current: Deadlines) -> Deadlines:
    """The deadlines after the one extension the law allows, counted from the legal deadline."""
    due = _answer_by(rule, current.legal_due_at, extension=True)
    return Deadlines(current.rule, due, due, current.confirm_by)


def reminders_due(due_at: dt.datetime, now: dt.datetime, sent: frozenset[int]) -> list[int]:
    """The reminders (days before ``due_at``) whose time has come and that were not yet sent,
    most urgent last. After downtime several may be due at once: the caller sends one message
    (for the last, most urgent) and records them all, so staff get one reminder, not three."""
    return [
        days
        for days in REMINDER_DAYS
        if days not in sent and now >= due_at - dt.timedelta(days=days) and now < due_at
    ]
