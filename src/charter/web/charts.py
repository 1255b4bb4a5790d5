"""Bar charts for the console, drawn on the server as SVG: no script, nothing loaded from
elsewhere, no inline style (the CSP forbids it; sizes are SVG attributes, colours CSS classes).
Each chart has a text equivalent beside it (a table), so the numbers never depend on sight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from charter.domain.dashboard import ConsentRate
from charter.manifest.models import Manifest

WIDTH = 480
"""The drawing width of a full bar, in SVG user units (the chart scales with the page)."""


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    width: int
    """Length in SVG units: proportional to the value, at least 2 when the value is not 0."""
    text: str


def bars(values: Sequence[tuple[str, int]]) -> list[Bar]:
    """Bars for counts, the longest filling ``WIDTH``."""
    top = max((value for _, value in values), default=0)
    return [
        Bar(label, value, _length(value / top if top else 0.0), f"{value:,}")
        for label, value in values
    ]


@dataclass(frozen=True)
class RateGroup:
    purpose: str
    name: str
    bars: list[Bar]


def rate_groups(rates: Sequence[ConsentRate], manifest: Manifest) -> list[RateGroup]:
    """One chart per consent purpose: each brand's share of people who consented."""
    groups: dict[str, list[Bar]] = {}
    for rate in rates:
        brand = manifest.brands.get(rate.brand)
        groups.setdefault(rate.purpose, []).append(
            Bar(
                brand.name if brand else rate.brand,
                rate.granted,
                _length(rate.rate),
                f"{rate.rate:.0%} of {rate.answered:,}",
            )
        )
    return [
        RateGroup(
            purpose,
            manifest.purposes[purpose].name if purpose in manifest.purposes else purpose,
            found,
        )
        for purpose, found in groups.items()
    ]


def _length(share: float) -> int:
    return 0 if share <= 0 else max(2, round(share * WIDTH))
