"""The pure rules of page views: IP truncation, the lake's buckets and paths, and reading
one event (what is kept, what is dropped as invalid)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from charter.domain.events import (
    Invalid,
    IpTruncation,
    PageView,
    country_code,
    read_event,
    strip_url,
    truncate_ip,
)
from charter.domain.lake import BUCKETS, bucket_of, day_of, partition_path

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
PURPOSES: dict[str, str | None] = {"strictly_necessary": None, "analytics": "site_analytics"}


@pytest.mark.parametrize(
    ("address", "bits", "expected"),
    [
        ("203.0.113.77", (24, 48), "203.0.113.0"),
        ("203.0.113.77", (16, 48), "203.0.0.0"),
        ("203.0.113.77", (32, 48), "203.0.113.77"),
        ("203.0.113.77", (0, 48), "0.0.0.0"),  # noqa: S104 (an address, not a bind)
        (" 10.1.2.3 ", (24, 48), "10.1.2.0"),
        ("2001:db8:abcd:12:34:56:78:9a", (24, 48), "2001:db8:abcd::"),
        ("2001:db8:abcd:12:34:56:78:9a", (24, 64), "2001:db8:abcd:12::"),
        ("2001:db8:abcd:12:34:56:78:9a", (24, 0), "::"),
        ("2001:DB8:ABCD:1200::1", (24, 56), "2001:db8:abcd:1200::"),
        ("fe80::1%eth0", (24, 48), "fe80::"),  # the zone id goes too
        # IPv4-mapped: an IPv4 address, truncated as one (a /48 would keep all of it).
        ("::ffff:203.0.113.77", (24, 48), "203.0.113.0"),
    ],
)
def test_truncation(address: str, bits: tuple[int, int], expected: str) -> None:
    assert truncate_ip(address, IpTruncation(*bits)) == expected


@pytest.mark.parametrize("bad", ["", "not-an-ip", "256.1.1.1", "1.2.3", "203.0.113.77/24"])
def test_truncation_refuses_what_is_not_an_address(bad: str) -> None:
    with pytest.raises(ValueError, match="IPv4 or IPv6"):
        truncate_ip(bad)


def test_truncation_bits_are_bounded() -> None:
    with pytest.raises(ValueError, match="ipv4_bits"):
        IpTruncation(33, 48)
    with pytest.raises(ValueError, match="ipv6_bits"):
        IpTruncation(24, 129)


@pytest.mark.parametrize(
    ("cookie_id", "bucket"),
    # First four bytes of SHA-256, big-endian, mod 32: "" -> e3b0c442, "a" -> ca978112,
    # "abc" -> ba7816bf (the FIPS 180-2 test vectors).
    [("", 0x42 % 32), ("a", 0x12 % 32), ("abc", 0xBF % 32)],
)
def test_bucket_is_the_contracts_hash(cookie_id: str, bucket: int) -> None:
    assert bucket_of(cookie_id) == bucket


def test_buckets_spread_and_stay_in_range() -> None:
    buckets = [bucket_of(f"cookie-{i:06d}") for i in range(3200)]
    assert set(buckets) == set(range(BUCKETS))
    assert max(buckets.count(b) for b in range(BUCKETS)) < 160  # about 100 each


def test_partition_paths() -> None:
    assert partition_path(dt.date(2026, 3, 1), 7) == "page_views/day=2026-03-01/bucket=07"
    assert partition_path(dt.date(2026, 3, 1), 31, "clicks") == "clicks/day=2026-03-01/bucket=31"
    with pytest.raises(ValueError, match="bucket must be"):
        partition_path(dt.date(2026, 3, 1), BUCKETS)
    late = dt.datetime(2026, 2, 28, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert day_of(late) == dt.date(2026, 3, 1)  # the UTC day
    with pytest.raises(ValueError, match="time zone"):
        day_of(dt.datetime(2026, 3, 1))


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("DE", "DE"),
        ("de", "DE"),
        (" fr ", "FR"),
        ("XX", None),
        ("T1", None),
        ("", None),
        (None, None),
        ("DEU", None),
        (49, None),
    ],
)
def test_country_from_the_cdn_header(given: Any, expected: str | None) -> None:
    assert country_code(given) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://a.example.org/p?q=1#x", "https://a.example.org/p"),
        ("HTTP://A.example.org", "http://a.example.org/"),
        ("https://a.example.org:8443/x/?email=x@example.org", "https://a.example.org:8443/x/"),
        ("https://user:pw@a.example.org/p", "https://a.example.org/p"),
        ("javascript:alert(1)", None),
        ("/relative/path", None),
        ("https://[::1", None),
    ],
)
def test_urls_keep_scheme_host_and_path(url: str, expected: str | None) -> None:
    assert strip_url(url) == expected


def raw(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "occurred_at": NOW - dt.timedelta(minutes=3),
        "cookie_id": "cookie-000001",
        "ip_address": "198.51.100.77",
        "country": "de",
        "category": "analytics",
        "device_type": "mobile",
        "operating_system": "Android",
        "browser": "Chrome",
        "page_url": "https://acme.example.org/drums?ref=mail",
        "referrer": "https://search.example.net/?q=drums",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not ...}


def test_a_readable_event_is_kept_minimised() -> None:
    event = read_event(raw(), "acme", "generated-id", PURPOSES, NOW)
    assert isinstance(event, PageView)
    assert event.ip_address == "198.51.100.0"
    assert event.country == "DE"
    assert event.page_url == "https://acme.example.org/drums"
    assert event.referrer == "https://search.example.net/"
    assert event.event_id == "generated-id"
    assert event.brand == "acme" and event.category == "analytics"
    given = read_event(raw(event_id="e-1"), "acme", "generated-id", PURPOSES, NOW)
    assert isinstance(given, PageView) and given.event_id == "e-1"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ip_address": "999.1.1.1"}, "ip_address"),
        ({"ip_address": None}, "ip_address"),
        ({"category": "advertising"}, "category"),
        ({"occurred_at": NOW + dt.timedelta(minutes=6)}, "occurred_at"),
        ({"occurred_at": dt.datetime(2026, 11, 28, 11)}, "occurred_at"),
        ({"occurred_at": "2026-11-28T11:00:00+00:00"}, "occurred_at"),  # callers parse first
        ({"page_url": "ftp://acme.example.org/x"}, "page_url"),
        ({"page_url": "https://acme.example.org/" + "x" * 2048}, "page_url"),
        ({"cookie_id": ""}, "cookie_id"),
        ({"browser": ...}, "browser"),
        ({"device_type": "d" * 201}, "device_type"),
        ({"account_id": 42}, "account_id"),
        ({"event_id": ""}, "event_id"),
        ({"referrer": 5}, "referrer"),
    ],
)
def test_an_unreadable_event_names_its_field(changes: dict[str, Any], field: str) -> None:
    outcome = read_event(raw(**changes), "acme", "id", PURPOSES, NOW)
    assert isinstance(outcome, Invalid)
    assert outcome.field == field


def test_future_skew_is_tolerated() -> None:
    soon = read_event(raw(occurred_at=NOW + dt.timedelta(minutes=4)), "acme", "id", PURPOSES, NOW)
    assert isinstance(soon, PageView)
