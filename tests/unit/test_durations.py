"""ISO 8601 durations: parsing, and calendar arithmetic across month ends and leap days."""

from __future__ import annotations

import datetime as dt

import pytest

from charter.domain.durations import Duration, parse_duration

UTC = dt.UTC


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("P3Y", Duration(years=3)),
        ("P13M", Duration(months=13)),
        ("P30D", Duration(days=30)),
        ("P2W", Duration(days=14)),
        ("P1W3D", Duration(days=10)),
        ("PT12H", Duration(seconds=12 * 3600)),
        ("PT30M", Duration(seconds=1800)),
        ("PT45S", Duration(seconds=45)),
        ("P1M", Duration(months=1)),  # M before T is months ...
        ("PT1M", Duration(seconds=60)),  # ... and minutes after it
        ("P1Y2M10DT2H30M15S", Duration(years=1, months=2, days=10, seconds=9015)),
        ("P10Y", Duration(years=10)),
        ("P0D", Duration()),
        ("PT0S", Duration()),
    ],
)
def test_parse(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "PT",
        "P1YT",
        "3Y",
        "P3",
        "p3y",
        "P1.5Y",
        "P-1Y",
        "P1H",
        "PT1D",
        "P1M1Y",
        "P1D2W",
        " P1Y",
        "P1Y ",
        "P 1Y",
        "1 year",
        "session",
        "P1Y\n",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 duration") as caught:
        parse_duration(text)
    assert repr(text) in str(caught.value)


@pytest.mark.parametrize(
    ("start", "text", "end"),
    [
        # A month later is the same date, or the month's last day where that date does not exist.
        (at(2025, 1, 15), "P1M", at(2025, 2, 15)),
        (at(2025, 1, 31), "P1M", at(2025, 2, 28)),
        (at(2024, 1, 31), "P1M", at(2024, 2, 29)),
        (at(2025, 3, 31), "P1M", at(2025, 4, 30)),
        (at(2025, 5, 31), "P1M", at(2025, 6, 30)),
        (at(2025, 8, 31), "P6M", at(2026, 2, 28)),
        (at(2027, 8, 31), "P6M", at(2028, 2, 29)),
        (at(2025, 12, 31), "P2M", at(2026, 2, 28)),
        (at(2025, 11, 30), "P3M", at(2026, 2, 28)),
        (at(2025, 10, 31), "P13M", at(2026, 11, 30)),
        (at(2025, 12, 15), "P1M", at(2026, 1, 15)),
        # Clamping is not carried over: each addition starts again from the start date.
        (at(2025, 1, 31), "P2M", at(2025, 3, 31)),
        # Leap days.
        (at(2024, 2, 29), "P1Y", at(2025, 2, 28)),
        (at(2024, 2, 29), "P4Y", at(2028, 2, 29)),
        (at(2024, 2, 29), "P12M", at(2025, 2, 28)),
        (at(2024, 2, 28), "P1D", at(2024, 2, 29)),
        (at(2025, 2, 28), "P1D", at(2025, 3, 1)),
        (at(2024, 1, 1), "P10Y", at(2034, 1, 1)),
        # Months first, then days (ISO 8601 order).
        (at(2025, 1, 31), "P1M1D", at(2025, 3, 1)),
        (at(2024, 1, 31), "P1M1D", at(2024, 3, 1)),
        # Days and weeks are counted as such, across month and year ends.
        (at(2025, 1, 15), "P30D", at(2025, 2, 14)),
        (at(2024, 2, 15), "P30D", at(2024, 3, 16)),
        (at(2025, 12, 25), "P2W", at(2026, 1, 8)),
        # Times of day are kept, and hours roll over midnight.
        (at(2025, 3, 31, 23, 30), "P1M", at(2025, 4, 30, 23, 30)),
        (at(2025, 12, 31, 18), "PT12H", at(2026, 1, 1, 6)),
        (at(2025, 6, 1, 10), "PT30M", at(2025, 6, 1, 10, 30)),
    ],
)
def test_after(start: dt.datetime, text: str, end: dt.datetime) -> None:
    assert parse_duration(text).after(start) == end


def test_after_keeps_the_time_zone() -> None:
    start = at(2025, 1, 31, 12)
    end = parse_duration("P1M").after(start)
    assert end.tzinfo is UTC
    assert end == at(2025, 2, 28, 12)


def test_after_on_naive_dates_too() -> None:
    assert parse_duration("P1Y").after(dt.datetime(2024, 2, 29)) == dt.datetime(2025, 2, 28)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("P1Y", 365.25),
        ("P1M", 30.44),
        ("P2W", 14),
        ("PT12H", 0.5),
        ("P1Y1M1DT6H", 365.25 + 30.44 + 1.25),
    ],
)
def test_approx_days(text: str, days: float) -> None:
    assert parse_duration(text).approx_days() == pytest.approx(days)


@pytest.mark.parametrize(
    ("shorter", "longer"),
    [("P12M", "P13M"), ("P1Y", "P13M"), ("P30D", "P1M1D"), ("P6M", "P1Y"), ("PT23H", "P1D")],
)
def test_approx_days_orders_durations(shorter: str, longer: str) -> None:
    assert parse_duration(shorter).approx_days() < parse_duration(longer).approx_days()
