"""The operator's IP-range table: lookups at the edges, gaps, IPv4 in IPv6 form, bad rows."""

from __future__ import annotations

import pytest

from charter.domain.geo import BadRange, CountryTable

TABLE = CountryTable.from_rows(
    [
        ("10.0.1.0", "10.0.1.255", "FR"),
        ("10.0.0.0", "10.0.0.255", "de"),  # out of order and lower case: sorted, upper-cased
        ("2001:db8::", "2001:db8::ffff", "JP"),
        ("10.0.3.0", "10.0.3.255", "ZZ"),
    ]
)


@pytest.mark.parametrize(
    ("address", "country"),
    [
        ("10.0.0.0", "DE"),  # first address
        ("10.0.0.255", "DE"),  # last address
        ("10.0.1.0", "FR"),
        ("10.0.2.7", None),  # a gap
        ("9.255.255.255", None),  # before every range
        ("10.0.3.1", None),  # ZZ: the table does not know
        ("::ffff:10.0.1.9", "FR"),  # IPv4 written as IPv6
        ("2001:db8::1", "JP"),
        ("2001:db8::1:0", None),
        ("not an address", None),
    ],
)
def test_lookup(address: str, country: str | None) -> None:
    assert TABLE.country(address) == country


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("10.0.0.0", "10.0.0.255", "DE"), ("10.0.0.255", "10.0.1.0", "FR")], "overlap"),
        ([("10.0.0.9", "10.0.0.1", "DE")], "row 1: 10.0.0.9 - 10.0.0.1 is not a range"),
        ([("10.0.0.0", "2001:db8::", "DE")], "not a range"),
        ([("10.0.0.0", "10.0.0.1", "Germany")], "not a country code"),
        ([("ten", "10.0.0.1", "DE")], "row 1: not IP addresses"),
    ],
)
def test_bad_rows_are_named(rows: list[tuple[str, str, str]], message: str) -> None:
    with pytest.raises(BadRange, match=message):
        CountryTable.from_rows(rows)
