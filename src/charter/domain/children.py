"""Children's data: age from a birth date (GDPR Art. 8; the policy's parental consent under 18)."""

from __future__ import annotations

import datetime as dt

BIRTH_DATE = "user.demographic.date_of_birth"


def age_on(born: dt.date, today: dt.date) -> int:
    """Completed years on ``today``; someone born on 29 February turns a year older on
    1 March in common years (the day after 28 February), as most national laws count it."""
    years = today.year - born.year
    if (today.month, today.day) < (born.month, born.day):
        years -= 1
    return years
