"""Regions whose law governs transfers. The EEA: the 27 EU states plus Iceland, Liechtenstein and
Norway (GDPR applies through the EEA Agreement). A transfer outside it needs a Chapter V mechanism.
"""

from __future__ import annotations

EEA = frozenset(
    {
        *("AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"),
        *("IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"),
        *("IS", "LI", "NO"),
    }
)

REGIONS: dict[str, frozenset[str]] = {"EEA": EEA}


def in_region(country: str, region: str) -> bool:
    """Whether ISO country ``country`` lies in ``region`` (a region name or a country code)."""
    members = REGIONS.get(region.upper())
    if members is None:
        return country.upper() == region.upper()
    return country.upper() in members
