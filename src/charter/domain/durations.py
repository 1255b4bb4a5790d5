"""ISO 8601 durations (``P3Y``, ``P13M``, ``P2W``, ``PT12H``) and calendar arithmetic on them.

Years and months are calendar units: adding ``P1M`` to 31 January gives the last day of
February (28th, or 29th in a leap year), as GDPR Art. 12(3) "one month" is read by the
European Court of Justice rule on periods (Regulation 1182/71): the period ends on the same
date of the next month, or on the month's last day where that date does not exist.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


@dataclass(frozen=True, slots=True)
class Duration:
    years: int = 0
    months: int = 0
    days: int = 0
    seconds: int = 0

    def after(self, start: dt.datetime) -> dt.datetime:
        """The instant this long after ``start``, months clamped to the month's last day."""
        total_months = start.month - 1 + self.months + 12 * self.years
        year = start.year + total_months // 12
        month = total_months % 12 + 1
        day = min(start.day, calendar.monthrange(year, month)[1])
        moved = start.replace(year=year, month=month, day=day)
        return moved + dt.timedelta(days=self.days, seconds=self.seconds)

    def approx_days(self) -> float:
        """Length in days for comparing two durations (a month counts 30.44 days)."""
        return self.years * 365.25 + self.months * 30.44 + self.days + self.seconds / 86400


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration; raise ``ValueError`` naming the text when it is not one."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as P3Y, P6M or P30D")
    parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    return Duration(
        years=parts.get("years", 0),
        months=parts.get("months", 0),
        days=parts.get("days", 0) + 7 * parts.get("weeks", 0),
        seconds=parts.get("hours", 0) * 3600
        + parts.get("minutes", 0) * 60
        + parts.get("seconds", 0),
    )
