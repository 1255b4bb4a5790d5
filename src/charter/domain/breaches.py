"""Personal data breaches: the 72-hour clock, the risk rules and where a breach stands.

- **Every breach is recorded** (GDPR Art. 33(5)): its facts, effects and the remedial action
  taken, notified or not; a decision not to notify carries its reasons. So a risk assessment
  always comes with reasons, "none" most of all.
- **The authority** (Art. 33(1)) is notified "without undue delay and, where feasible, not later
  than 72 hours after having become aware of it", unless the breach "is unlikely to result in a
  risk" (risk ``none``). A first notice after the 72 hours "shall be accompanied by reasons for
  the delay": without them it is refused. What cannot be told at once may follow "in phases
  without undue further delay" (Art. 33(4)): phases are numbered 1, 2, 3 ... in order; only the
  first counts against the clock.
- **The people** (Art. 34(1)) are told "without undue delay" when the risk is high
  (``high_risk``), unless an Art. 34(3) exemption applies and is recorded with its reasons: the
  data were unintelligible to anyone not authorised (encryption), later measures make the high
  risk no longer likely, or telling each person would take disproportionate effort (then a
  public communication instead, which must be described).

Times are timezone-aware and the arithmetic is done in UTC: 72 hours are 72 elapsed hours, also
across a change to or from summer time (Python adds a ``timedelta`` to a local time on the wall
clock, which would make the window 71 or 73 hours long).
"""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum

NOTICE_WINDOW = dt.timedelta(hours=72)
"""Art. 33(1): the authority is notified within 72 hours of awareness."""

REMINDER_HOURS = (48, 24, 6)
"""The privacy team is reminded when this many hours are left for the authority notice."""

CHARTER_SYSTEM = "charter"
"""The system key naming Charter's own store among a breach's systems."""


class Risk(StrEnum):
    NONE = "none"
    """Unlikely to result in a risk to people's rights and freedoms: recorded, not notified."""
    RISK = "risk"
    """A risk: the authority is notified (Art. 33(1))."""
    HIGH_RISK = "high_risk"
    """A high risk: the authority and the people are notified (Art. 33(1), 34(1))."""


class Exemption(StrEnum):
    """The grounds of Art. 34(3) on which the people need not be told one by one."""

    ENCRYPTED = "encrypted"
    """(a) the data were unintelligible to anyone not authorised to see them."""
    MEASURES_TAKEN = "measures_taken"
    """(b) later measures ensure that the high risk is no longer likely to materialise."""
    DISPROPORTIONATE_EFFORT = "disproportionate_effort"
    """(c) telling each person would take disproportionate effort: a public communication."""


class BreachStatus(StrEnum):
    AWAITING_AUTHORITY_NOTICE = "awaiting_authority_notice"
    AWAITING_PEOPLE_NOTICE = "awaiting_people_notice"
    NOTIFYING_PEOPLE = "notifying_people"
    """The messages to the people are being queued (batch by batch); resumable."""
    RECORDED = "recorded"
    """Nothing more is required: notified as the risk requires, or no notice needed."""


OPEN = frozenset(
    {
        BreachStatus.AWAITING_AUTHORITY_NOTICE,
        BreachStatus.AWAITING_PEOPLE_NOTICE,
        BreachStatus.NOTIFYING_PEOPLE,
    }
)


def _utc(moment: dt.datetime, name: str) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(dt.UTC)


def authority_required(risk: Risk) -> bool:
    """Art. 33(1): every breach but one unlikely to result in a risk."""
    return risk is not Risk.NONE


def people_required(risk: Risk) -> bool:
    """Art. 34(1): a breach likely to result in a high risk."""
    return risk is Risk.HIGH_RISK


def notice_due(aware_at: dt.datetime) -> dt.datetime:
    """When the authority notice is due: 72 elapsed hours after awareness, in UTC."""
    return _utc(aware_at, "aware_at") + NOTICE_WINDOW


def hours_left(aware_at: dt.datetime, now: dt.datetime) -> int:
    """Whole hours left for the authority notice: 71 at 71 h 59 min, 0 in the last hour,
    negative once the 72 hours have passed (-1 in the first hour late)."""
    left = notice_due(aware_at) - _utc(now, "now")
    return math.floor(left / dt.timedelta(hours=1))


def is_late(aware_at: dt.datetime, submitted_at: dt.datetime) -> bool:
    """Whether a first notice submitted at ``submitted_at`` is after the 72 hours (at exactly
    72 hours it is in time)."""
    return _utc(submitted_at, "submitted_at") > notice_due(aware_at)


def recording_refusal(
    risk: Risk,
    risk_reasons: str,
    aware_at: dt.datetime,
    occurred_at: dt.datetime | None,
    now: dt.datetime,
) -> str:
    """Why a breach cannot be recorded as given, or ``""``: awareness is a moment that has
    happened, the breach cannot occur after it became known, and the assessment has reasons
    (Art. 33(5); a "none" without them would be a decision not to notify left unexplained)."""
    if _utc(aware_at, "aware_at") > _utc(now, "now"):
        return "aware_at: the time of awareness cannot be in the future"
    if occurred_at is not None and _utc(occurred_at, "occurred_at") > _utc(aware_at, "aware_at"):
        return "occurred_at: a breach cannot occur after the company became aware of it"
    if not risk_reasons.strip():
        if risk is Risk.NONE:
            return (
                "risk_reasons: a breach not notified must be recorded with the reasons "
                "(GDPR Art. 33(5))"
            )
        return "risk_reasons: say why the breach is assessed so (GDPR Art. 33(5))"
    return ""


def authority_notice_refusal(
    *,
    aware_at: dt.datetime,
    submitted_at: dt.datetime,
    now: dt.datetime,
    phase: int,
    last_phase: int,
    delay_reasons: str,
) -> str:
    """Why an authority notice (one phase of it) cannot be recorded, or ``""``.

    Phases are numbered from 1 without gaps; a submission is a moment between awareness and
    now; a first notice after the 72 hours needs the reasons for the delay (Art. 33(1)); a
    follow-up (Art. 33(4)) does not, as only the first notice runs against the clock."""
    if phase != last_phase + 1:
        return f"phase: the next phase is {last_phase + 1}"
    submitted = _utc(submitted_at, "submitted_at")
    if submitted > _utc(now, "now"):
        return "submitted_at: cannot be in the future"
    if submitted < _utc(aware_at, "aware_at"):
        return "submitted_at: cannot be before the company became aware of the breach"
    if phase == 1 and is_late(aware_at, submitted_at) and not delay_reasons.strip():
        return (
            "delay_reasons: a notice more than 72 hours after awareness must give the "
            "reasons for the delay (GDPR Art. 33(1))"
        )
    return ""


def exemption_refusal(
    risk: Risk, exemption: Exemption, reasons: str, public_communication: str, told: bool
) -> str:
    """Why an Art. 34(3) exemption cannot be recorded, or ``""``: it exempts from a duty that
    exists (a high risk) and has not been met; it has reasons; disproportionate effort means a
    public communication instead, which is described."""
    if not people_required(risk):
        return "only a high-risk breach must be told to the people: there is nothing to exempt"
    if told:
        return "the people were already told"
    if not reasons.strip():
        return "reasons: an exemption is recorded with its reasons (GDPR Art. 34(3))"
    if exemption is Exemption.DISPROPORTIONATE_EFFORT and not public_communication.strip():
        return (
            "public_communication: with disproportionate effort the people are told by a "
            "public communication instead; describe it (GDPR Art. 34(3)(c))"
        )
    return ""


def status(
    risk: Risk,
    *,
    authority_notified: bool,
    people_told: bool,
    people_exempt: bool,
    notifying: bool = False,
) -> BreachStatus:
    """Where a breach stands: the authority notice first (it runs against the clock), then the
    people's when the risk is high; recorded once nothing more is required."""
    if notifying:
        return BreachStatus.NOTIFYING_PEOPLE
    if authority_required(risk) and not authority_notified:
        return BreachStatus.AWAITING_AUTHORITY_NOTICE
    if people_required(risk) and not (people_told or people_exempt):
        return BreachStatus.AWAITING_PEOPLE_NOTICE
    return BreachStatus.RECORDED


def reminders_due(due_at: dt.datetime, now: dt.datetime, sent: frozenset[int]) -> list[int]:
    """The reminders (hours left before ``due_at``) whose time has come and that were not yet
    sent, most urgent last; none once the notice is overdue. After downtime several may be due
    at once: the caller sends one message (the most urgent) and records them all."""
    due = _utc(due_at, "due_at")
    moment = _utc(now, "now")
    return [
        hours
        for hours in REMINDER_HOURS
        if hours not in sent and moment >= due - dt.timedelta(hours=hours) and moment < due
    ]
