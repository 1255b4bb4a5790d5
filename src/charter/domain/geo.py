"""The country of an IP address, from a table of address ranges the operator installs (no
service is asked: nothing may reach another host), looked up before the address is truncated
and never kept whole.

A table is rows of (first address, last address, country code), IPv4 and IPv6 mixed, as the
free "IP to Country Lite" CSV of DB-IP publishes them (CC BY 4.0). Ranges are kept sorted by
their first address per IP version; a lookup is one binary search. Overlapping ranges are
refused (the table would answer two countries for one address); gaps answer nothing.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

_UNKNOWN = frozenset({"ZZ", "XX"})  # codes tables use for "no country"


class BadRange(ValueError):
    """A row of the table that is not a range of one IP version with a country code."""


@dataclass
class _Ranges:
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CountryTable:
    v4: _Ranges
    v6: _Ranges

    @property
    def size(self) -> int:
        return len(self.v4.starts) + len(self.v6.starts)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str]]) -> CountryTable:
        """The table of ``rows``; ``BadRange`` names the first row at fault (1-based)."""
        found: dict[int, list[tuple[int, int, str]]] = {4: [], 6: []}
        for number, (first, last, country) in enumerate(rows, start=1):
            try:
                low = ipaddress.ip_address(first.strip())
                high = ipaddress.ip_address(last.strip())
            except ValueError:
                raise BadRange(f"row {number}: not IP addresses: {first!r}, {last!r}") from None
            code = country.strip().upper()
            if low.version != high.version or int(high) < int(low):
                raise BadRange(f"row {number}: {first} - {last} is not a range")
            if len(code) != 2 or not code.isalpha():
                raise BadRange(f"row {number}: {country!r} is not a country code")
            found[low.version].append((int(low), int(high), code))
        tables = []
        for version in (4, 6):
            ranges = _Ranges()
            previous_end = -1
            for start, end, code in sorted(found[version]):
                if start <= previous_end:
                    raise BadRange(f"IPv{version} ranges overlap at {ipaddress.ip_address(start)}")
                previous_end = end
                ranges.starts.append(start)
                ranges.ends.append(end)
                ranges.countries.append(code)
            tables.append(ranges)
        return cls(*tables)

    def country(self, address: str) -> str | None:
        """The country of ``address``, or None (not an address, in no range, or unknown). An
        IPv4 address written in IPv6 form (``::ffff:192.0.2.1``) is looked up as IPv4."""
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        ranges = self.v4 if ip.version == 4 else self.v6
        value = int(ip)
        index = bisect.bisect_right(ranges.starts, value) - 1
        if index < 0 or value > ranges.ends[index]:
            return None
        code = ranges.countries[index]
        return None if code in _UNKNOWN else code
