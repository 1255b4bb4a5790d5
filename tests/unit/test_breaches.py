"""The breach rules (``charter.domain.breaches``) as tables of cases: the 72-hour clock of GDPR
Art. 33(1) in elapsed UTC hours (also across summer-time changes), the reasons a late first
notice needs, the phases of Art. 33(4), the risk rules of Art. 33 and 34, the exemptions of
Art. 34(3), and the reminders at 48, 24 and 6 hours left."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from charter.domain.breaches import (
    BreachStatus,
    Exemption,
    Risk,
    authority_notice_refusal,
    authority_required,
    exemption_refusal,
    hours_left,
    is_late,
    notice_due,
    people_required,
    recording_refusal,
    reminders_due,
    status,
)

UTC = dt.UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
AWARE = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(hours: float) -> dt.datetime:
    """``hours`` after ``AWARE``."""
    return AWARE + dt.timedelta(hours=hours)


@pytest.mark.parametrize(
    ("aware_at", "due_at"),
    [
        (AWARE, dt.datetime(2026, 3, 5, 9, 0, tzinfo=UTC)),
        # across a month end and a leap day
        (dt.datetime(2028, 2, 28, 23, 30, tzinfo=UTC), dt.datetime(2028, 3, 2, 23, 30, tzinfo=UTC)),
        (dt.datetime(2026, 12, 30, 12, 0, tzinfo=UTC), dt.datetime(2027, 1, 2, 12, 0, tzinfo=UTC)),
        # Berlin goes to summer time on 29 March 2026 (02:00 -> 03:00): 72 elapsed hours after
        # 28 March 10:00 CET (09:00 UTC) are 31 March 11:00 CEST, not 10:00 on the wall clock.
        (
            dt.datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN),
            dt.datetime(2026, 3, 31, 9, 0, tzinfo=UTC),
        ),
        # and back to winter time on 25 October 2026 (03:00 -> 02:00)
        (
            dt.datetime(2026, 10, 24, 10, 0, tzinfo=BERLIN),
            dt.datetime(2026, 10, 27, 8, 0, tzinfo=UTC),
        ),
        # New York, 8 March 2026
        (
            dt.datetime(2026, 3, 7, 12, 0, tzinfo=NEW_YORK),
            dt.datetime(2026, 3, 10, 17, 0, tzinfo=UTC),
        ),
    ],
)
def test_the_notice_is_due_72_elapsed_hours_after_awareness(
    aware_at: dt.datetime, due_at: dt.datetime
) -> None:
    due = notice_due(aware_at)
    assert due == due_at and due.tzinfo is UTC
    assert due - aware_at.astimezone(UTC) == dt.timedelta(hours=72)


def test_local_wall_clock_arithmetic_would_be_an_hour_off_across_summer_time() -> None:
    """Why the domain converts to UTC first: Python adds to a local time on the wall clock."""
    aware = dt.datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN)
    wall = aware + dt.timedelta(hours=72)
    assert wall.astimezone(UTC) - aware.astimezone(UTC) == dt.timedelta(hours=71)
    assert notice_due(aware) - aware.astimezone(UTC) == dt.timedelta(hours=72)


@pytest.mark.parametrize(
    ("now", "left"),
    [
        (at(0), 72),
        (at(0.5), 71),
        (at(24), 48),
        (at(47.99), 24),
        (at(71), 1),
        (at(71.01), 0),
        (at(72), 0),
        (at(72.01), -1),
        (at(96), -24),
        (at(-1), 73),  # recorded with an awareness an hour ahead of the clock reading now
    ],
)
def test_hours_left_are_whole_hours_and_negative_once_late(now: dt.datetime, left: int) -> None:
    assert hours_left(AWARE, now) == left


def test_hours_left_do_not_depend_on_the_zone_the_times_are_given_in() -> None:
    aware = dt.datetime(2026, 3, 28, 10, 0, tzinfo=BERLIN)
    now = dt.datetime(2026, 3, 30, 12, 0, tzinfo=BERLIN)  # CEST: 10:00 UTC, 49 h after
    assert hours_left(aware, now) == 23
    assert hours_left(aware.astimezone(NEW_YORK), now.astimezone(UTC)) == 23


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="aware_at"):
        notice_due(dt.datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError, match="now"):
        hours_left(AWARE, dt.datetime(2026, 3, 2, 9, 0))


@pytest.mark.parametrize(
    ("submitted", "late"),
    [(at(1), False), (at(71.99), False), (at(72), False), (at(72.001), True), (at(200), True)],
)
def test_a_notice_is_late_after_the_72_hours(submitted: dt.datetime, late: bool) -> None:
    assert is_late(AWARE, submitted) is late


def refusal(submitted: dt.datetime, *, phase: int = 1, last: int = 0, reasons: str = "") -> str:
    return authority_notice_refusal(
        aware_at=AWARE,
        submitted_at=submitted,
        now=at(300),
        phase=phase,
        last_phase=last,
        delay_reasons=reasons,
    )


@pytest.mark.parametrize(
    ("submitted", "phase", "last", "reasons", "refused"),
    [
        (at(10), 1, 0, "", ""),
        (at(72), 1, 0, "", ""),
        (at(73), 1, 0, "", "delay_reasons"),
        (at(73), 1, 0, "   ", "delay_reasons"),
        (at(73), 1, 0, "The forensic report came on day 4.", ""),
        # a follow-up (Art. 33(4)) needs no reasons: only the first notice runs on the clock
        (at(150), 2, 1, "", ""),
        (at(150), 3, 2, "", ""),
        # phases in order, without gaps or repeats
        (at(10), 2, 0, "", "phase: the next phase is 1"),
        (at(80), 1, 1, "late", "phase: the next phase is 2"),
        (at(80), 3, 1, "", "phase: the next phase is 2"),
        # impossible moments
        (at(301), 1, 0, "", "submitted_at: cannot be in the future"),
        (at(-1), 1, 0, "", "submitted_at: cannot be before"),
    ],
)
def test_authority_notice_rules(
    submitted: dt.datetime, phase: int, last: int, reasons: str, refused: str
) -> None:
    answer = refusal(submitted, phase=phase, last=last, reasons=reasons)
    if refused:
        assert answer.startswith(refused), answer
    else:
        assert answer == ""


def test_a_late_first_notice_without_reasons_cites_the_article() -> None:
    assert "Art. 33(1)" in refusal(at(100))


@pytest.mark.parametrize(
    ("risk", "authority", "people"),
    [(Risk.NONE, False, False), (Risk.RISK, True, False), (Risk.HIGH_RISK, True, True)],
)
def test_who_must_be_told(risk: Risk, authority: bool, people: bool) -> None:
    assert authority_required(risk) is authority
    assert people_required(risk) is people


@pytest.mark.parametrize(
    ("risk", "reasons", "aware", "occurred", "refused"),
    [
        (Risk.RISK, "Names and e-mails readable.", at(0), None, ""),
        (Risk.NONE, "Encrypted laptop, key not lost.", at(0), at(-5), ""),
        # Art. 33(5): a breach not notified is recorded with the reasons
        (Risk.NONE, "", at(0), None, "risk_reasons: a breach not notified"),
        (Risk.NONE, "  \n", at(0), None, "risk_reasons: a breach not notified"),
        (Risk.HIGH_RISK, "", at(0), None, "risk_reasons: say why"),
        (Risk.RISK, "x", at(1), None, "aware_at: the time of awareness cannot be in the future"),
        (Risk.RISK, "x", at(0), at(0.5), "occurred_at: a breach cannot occur after"),
    ],
)
def test_recording_rules(
    risk: Risk, reasons: str, aware: dt.datetime, occurred: dt.datetime | None, refused: str
) -> None:
    answer = recording_refusal(risk, reasons, aware, occurred, now=at(0))
    if refused:
        assert answer.startswith(refused), answer
    else:
        assert answer == ""


@pytest.mark.parametrize(
    ("risk", "ground", "reasons", "public", "told", "refused"),
    [
        (Risk.HIGH_RISK, Exemption.ENCRYPTED, "AES-256, key safe.", "", False, ""),
        (Risk.HIGH_RISK, Exemption.MEASURES_TAKEN, "Passwords reset.", "", False, ""),
        (
            Risk.HIGH_RISK,
            Exemption.DISPROPORTIONATE_EFFORT,
            "No contacts.",
            "Press note",
            False,
            "",
        ),
        (Risk.HIGH_RISK, Exemption.DISPROPORTIONATE_EFFORT, "No contacts.", "", False, "public"),
        (Risk.HIGH_RISK, Exemption.ENCRYPTED, " ", "", False, "reasons"),
        (Risk.HIGH_RISK, Exemption.ENCRYPTED, "x", "", True, "the people were already told"),
        (Risk.RISK, Exemption.ENCRYPTED, "x", "", False, "only a high-risk breach"),
        (Risk.NONE, Exemption.ENCRYPTED, "x", "", False, "only a high-risk breach"),
    ],
)
def test_exemption_rules(
    risk: Risk, ground: Exemption, reasons: str, public: str, told: bool, refused: str
) -> None:
    answer = exemption_refusal(risk, ground, reasons, public, told)
    if refused:
        assert answer.startswith(refused), answer
    else:
        assert answer == ""


@pytest.mark.parametrize(
    ("risk", "authority", "told", "exempt", "notifying", "expected"),
    [
        (Risk.NONE, False, False, False, False, BreachStatus.RECORDED),
        (Risk.RISK, False, False, False, False, BreachStatus.AWAITING_AUTHORITY_NOTICE),
        (Risk.RISK, True, False, False, False, BreachStatus.RECORDED),
        (Risk.HIGH_RISK, False, False, False, False, BreachStatus.AWAITING_AUTHORITY_NOTICE),
        (Risk.HIGH_RISK, False, True, False, False, BreachStatus.AWAITING_AUTHORITY_NOTICE),
        (Risk.HIGH_RISK, True, False, False, False, BreachStatus.AWAITING_PEOPLE_NOTICE),
        (Risk.HIGH_RISK, True, True, False, False, BreachStatus.RECORDED),
        (Risk.HIGH_RISK, True, False, True, False, BreachStatus.RECORDED),
        (Risk.HIGH_RISK, True, False, False, True, BreachStatus.NOTIFYING_PEOPLE),
    ],
)
def test_where_a_breach_stands(
    risk: Risk,
    authority: bool,
    told: bool,
    exempt: bool,
    notifying: bool,
    expected: BreachStatus,
) -> None:
    assert (
        status(
            risk,
            authority_notified=authority,
            people_told=told,
            people_exempt=exempt,
            notifying=notifying,
        )
        is expected
    )


DUE = notice_due(AWARE)


@pytest.mark.parametrize(
    ("now", "sent", "due"),
    [
        (at(23.9), frozenset(), []),  # 48.1 hours left
        (at(24), frozenset(), [48]),
        (at(30), frozenset({48}), []),
        (at(48), frozenset({48}), [24]),
        (at(66), frozenset({48, 24}), [6]),
        (at(71.9), frozenset({48, 24, 6}), []),
        (at(72), frozenset(), []),  # due: no reminder once the notice is late
        # after downtime, everything due at once; the caller sends the most urgent (last)
        (at(67), frozenset(), [48, 24, 6]),
        (at(50), frozenset(), [48, 24]),
    ],
)
def test_reminders_at_48_24_and_6_hours_left_once_each(
    now: dt.datetime, sent: frozenset[int], due: list[int]
) -> None:
    assert reminders_due(DUE, now, sent) == due
