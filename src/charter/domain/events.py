"""Automatically collected page views: what may be kept of one, and what it needs.

- **IP addresses are truncated before storage** (GDPR Art. 5(1)(c) minimisation, Art. 25(1)
  data protection by design): an IPv4 address keeps its first ``ipv4_bits`` (24 by default,
  ``203.0.113.77`` -> ``203.0.113.0``), an IPv6 address its first ``ipv6_bits`` (48 by default,
  the site prefix); an IPv4-mapped IPv6 address (``::ffff:203.0.113.77``) is an IPv4 address
  and is truncated as one (a /48 of it would keep the whole address); a zone id is dropped.
- **Page URLs lose their query and fragment**: they carry e-mail addresses, search terms and
  tokens far more often than anything analytics needs; scheme, host and path are kept.
- **An event needs the consent of its cookie category** (ePrivacy Directive Art. 5(3), GDPR
  Art. 6(1)(a)): a strictly necessary category (no purpose) needs none; any other needs the
  cookie id's standing consent to that category's purpose for that brand, as the banner records
  it. Anything else drops the event, counted by reason.
- An event that cannot be read (not an address, an unknown category, a time in the future, a
  page that is not an http(s) URL) is dropped as ``invalid``: the addresses come from visitors'
  request headers, which anyone can forge, so one bad event does not refuse the whole batch.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

INVALID = "invalid"
NO_CONSENT = "no_consent"
MAX_TEXT = 200
MAX_URL = 2048
FUTURE_SKEW = dt.timedelta(minutes=5)
"""How far in the future an event may be dated (clocks of the sending servers drift)."""

_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Codes CDNs send when they do not know a country (Cloudflare: XX unknown, T1 Tor; EU/AP
# are continent codes some databases use): not countries.
_NOT_COUNTRIES = frozenset({"XX", "ZZ", "T1", "EU", "AP", "A1", "A2", "O1"})
_REQUIRED_TEXT = ("cookie_id", "device_type", "operating_system", "browser")
_OPTIONAL_TEXT = ("account_id", "product_line")


@dataclass(frozen=True, slots=True)
class IpTruncation:
    ipv4_bits: int = 24
    ipv6_bits: int = 48

    def __post_init__(self) -> None:
        if not (0 <= self.ipv4_bits <= 32 and 0 <= self.ipv6_bits <= 128):
            raise ValueError("ipv4_bits must be 0-32 and ipv6_bits 0-128")


@dataclass(frozen=True, slots=True)
class PageView:
    """One event as it is stored (the columns of ``charter.domain.lake.COLUMNS``)."""

    event_id: str
    occurred_at: dt.datetime
    brand: str
    cookie_id: str
    account_id: str | None
    ip_address: str
    country: str | None
    device_type: str
    operating_system: str
    browser: str
    page_url: str
    referrer: str | None
    product_line: str | None
    category: str


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why an event was dropped as unreadable: the field at fault (never its value)."""

    field: str
    message: str


def truncate_ip(address: str, truncation: IpTruncation = IpTruncation()) -> str:
    """The network part of an address, the host bits set to zero (see the module docstring).
    Raises ``ValueError`` for anything that is not an IPv4 or IPv6 address."""
    parsed = ipaddress.ip_address(address.strip())
    if isinstance(parsed, ipaddress.IPv6Address):
        mapped = parsed.ipv4_mapped
        if mapped is not None:
            parsed = mapped
    if isinstance(parsed, ipaddress.IPv4Address):
        bits, width = truncation.ipv4_bits, 32
    else:
        bits, width = truncation.ipv6_bits, 128
    mask = ((1 << bits) - 1) << (width - bits) if bits else 0
    value = int(parsed) & mask
    # Rebuilt from the integer, which also drops an IPv6 zone id (``fe80::1%eth0``).
    return str(ipaddress.IPv4Address(value) if width == 32 else ipaddress.IPv6Address(value))


def country_code(value: Any) -> str | None:
    """An ISO 3166-1 alpha-2 code from a CDN's country header (``CF-IPCountry`` and the like),
    which the CDN derives from the full address before it reaches anyone; ``None`` when absent
    or not a country."""
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    if not _COUNTRY.fullmatch(code) or code in _NOT_COUNTRIES:
        return None
    return code


def strip_url(value: str) -> str | None:
    """Scheme, host and path of an http(s) URL; ``None`` when it is not one."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", "", ""))


def read_event(
    raw: Mapping[str, Any],
    brand: str,
    event_id: str,
    purposes: Mapping[str, str | None],
    now: dt.datetime,
    truncation: IpTruncation = IpTruncation(),
    country_of: Callable[[str], str | None] | None = None,
) -> PageView | Invalid:
    """One event as it will be stored, or why it cannot be: the address truncated, the URLs
    stripped, the country derived from the whole address by ``country_of`` (the operator's
    range table, ``charter.domain.geo``) before truncation, else taken from the forwarded CDN
    header. ``purposes`` maps each cookie category to the consent purpose it needs (``None``:
    strictly necessary, no consent); ``event_id`` is used when the event has none."""
    for name in _REQUIRED_TEXT:
        value = raw.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            return Invalid(name, f"must be a non-empty string of at most {MAX_TEXT} characters")
    for name in _OPTIONAL_TEXT:
        value = raw.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_TEXT):
            return Invalid(name, f"must be a string of at most {MAX_TEXT} characters")
    category = raw.get("category")
    if not isinstance(category, str) or category not in purposes:
        return Invalid("category", f"must be one of {', '.join(sorted(purposes))}")
    occurred_at = raw.get("occurred_at")
    if not isinstance(occurred_at, dt.datetime) or occurred_at.tzinfo is None:
        return Invalid("occurred_at", "must be a date and time with a time zone")
    occurred_at = occurred_at.astimezone(dt.UTC)
    if occurred_at > now + FUTURE_SKEW:
        return Invalid("occurred_at", "lies in the future")
    address = raw.get("ip_address")
    try:
        truncated = truncate_ip(address if isinstance(address, str) else "", truncation)
    except ValueError:
        return Invalid("ip_address", "must be an IPv4 or IPv6 address")
    page = raw.get("page_url")
    page_url = strip_url(page) if isinstance(page, str) and len(page) <= MAX_URL else None
    if page_url is None:
        return Invalid("page_url", f"must be an http(s) URL of at most {MAX_URL} characters")
    referrer_raw = raw.get("referrer")
    referrer = None
    if referrer_raw:
        if not isinstance(referrer_raw, str) or len(referrer_raw) > MAX_URL:
            return Invalid("referrer", f"must be a URL of at most {MAX_URL} characters")
        referrer = strip_url(referrer_raw)  # a non-http referrer (android-app://) says nothing
    given_id = raw.get("event_id")
    if given_id is not None and (not isinstance(given_id, str) or not 1 <= len(given_id) <= 64):
        return Invalid("event_id", "must be a string of 1-64 characters")
    return PageView(
        event_id=given_id or event_id,
        occurred_at=occurred_at,
        brand=brand,
        cookie_id=raw["cookie_id"].strip(),
        account_id=raw.get("account_id"),
        ip_address=truncated,
        country=(country_of(address) if country_of and isinstance(address, str) else None)
        or country_code(raw.get("country")),
        device_type=raw["device_type"].strip(),
        operating_system=raw["operating_system"].strip(),
        browser=raw["browser"].strip(),
        page_url=page_url,
        referrer=referrer,
        product_line=raw.get("product_line"),
        category=category,
    )
