"""Regions whose law governs transfers: the EEA, or a single country."""

from __future__ import annotations

import pytest

from charter.domain.regions import EEA, REGIONS, in_region


def test_the_eea_is_the_eu_plus_iceland_liechtenstein_and_norway() -> None:
    assert len(EEA) == 30
    assert {"IS", "LI", "NO"} <= EEA
    assert REGIONS["EEA"] is EEA


@pytest.mark.parametrize(
    ("country", "region", "inside"),
    [
        ("DE", "EEA", True),
        ("IE", "EEA", True),
        ("HR", "EEA", True),
        ("NO", "EEA", True),  # EEA, not EU
        ("IS", "EEA", True),
        ("LI", "EEA", True),
        ("CH", "EEA", False),  # EFTA but not EEA
        ("GB", "EEA", False),  # left in 2020; transfers rely on an adequacy decision
        ("US", "EEA", False),
        ("GR", "EEA", True),  # ISO code, not the EU's "EL"
        ("EL", "EEA", False),
        ("de", "eea", True),  # case does not matter
        ("US", "US", True),  # a single country as the home region
        ("us", "US", True),
        ("CA", "US", False),
        ("DE", "DE", True),
        ("FR", "DE", False),
    ],
)
def test_in_region(country: str, region: str, inside: bool) -> None:
    assert in_region(country, region) is inside
