"""The release rules of ``charter.domain.release``: public cells, bounds, budget, suppression,
margins."""

from __future__ import annotations

import hashlib

import pytest

from charter.domain.errors import InvalidInput, InvalidValue
from charter.domain.release import (
    Bounds,
    Measure,
    bin_labels,
    bound_contributions,
    check_bins,
    check_budget,
    check_clamp,
    check_dimensions,
    check_filters,
    margins,
    noise_scale,
    public_cells,
    sensitivity,
    suppress,
)


def rank(salt: str):  # type: ignore[no-untyped-def]
    return lambda text: int.from_bytes(hashlib.sha256((salt + text).encode()).digest()[:8], "big")


def test_public_cells_are_the_product_of_the_domains_present_or_not() -> None:
    cells = public_cells([("DE", "FR"), ("desktop", "mobile", "tablet")])
    assert len(cells) == 6 and cells[0] == ("DE", "desktop") and cells[-1] == ("FR", "tablet")
    assert public_cells([]) == [()]
    with pytest.raises(InvalidValue, match=r"^by:"):
        public_cells([tuple(str(i) for i in range(1000))] * 2)


@pytest.mark.parametrize(
    ("spent", "epsilon", "refused"),
    [(0, 1, False), (9, 1, False), (9.5, 1, True), (10, 0.001, True), (0.1 * 3, 9.7, False)],
)
def test_the_budget_composes_sequentially(spent: float, epsilon: float, refused: bool) -> None:
    if refused:
        with pytest.raises(InvalidInput) as caught:
            check_budget(spent, 10, epsilon)
        assert caught.value.code == "budget_exhausted"
    else:
        check_budget(spent, 10, epsilon)


def test_sensitivity_and_scale_follow_the_bounds() -> None:
    bounds = Bounds(rows_per_cell=2, cells_per_person=4)
    assert sensitivity(Measure.COUNT, bounds, None) == 8
    assert sensitivity(Measure.HISTOGRAM, bounds, None) == 8
    assert sensitivity(Measure.SUM, bounds, (-50, 20)) == 400
    assert noise_scale(8, 2) == 4
    with pytest.raises(InvalidValue):
        noise_scale(8, 0)
    with pytest.raises(InvalidValue):
        Bounds(0, 4)


def test_suppression_is_on_the_noisy_value_and_margins_on_released_cells() -> None:
    noisy = {("DE", "desktop"): 61.0, ("DE", "tablet"): 7.0, ("FR", "desktop"): 10.0}
    released = suppress(noisy, 10)
    assert released == {("DE", "desktop"): 61.0, ("DE", "tablet"): None, ("FR", "desktop"): 10.0}
    found = margins(released, ["country", "device_type"])
    assert found["country"] == {"DE": 61.0, "FR": 10.0}
    assert found["device_type"] == {"desktop": 71.0}
    assert found["*"] == {"*": 71.0}
    # Subtracting the released cells from the margin gives back nothing suppressed.
    assert found["country"]["DE"] - released[("DE", "desktop")] == 0  # type: ignore[operator]


def test_bounding_keeps_m_cells_and_k_rows_per_person_deterministically() -> None:
    rows = [("p", (f"c{c}",), f"r{c}-{r}") for c in range(10) for r in range(50)]
    rows += [("q", ("c0",), "q1")]
    bounds = Bounds(rows_per_cell=2, cells_per_person=3)
    kept = bound_contributions(rows, bounds, rank("s1"))
    mine = [r for r in kept if r[0] == "p"]
    assert len({cell for _, cell, _ in mine}) == 3 and len(mine) == 6
    assert [r for r in kept if r[0] == "q"] == [("q", ("c0",), "q1")]
    # The same salt keeps the same rows whatever order the data comes in.
    assert sorted(bound_contributions(list(reversed(rows)), bounds, rank("s1"))) == sorted(kept)
    others = {
        c
        for s in ("s2", "s3", "s4", "s5")
        for _, c, _ in bound_contributions(rows, bounds, rank(s))
    }
    assert len(others) > 3  # the salt decides which cells, not the data's order


def test_requests_are_checked_against_the_declared_dimensions() -> None:
    assert check_dimensions(["country"], ["country", "brand"]) == ["country"]
    with pytest.raises(InvalidValue, match=r"^by: 'cookie_id'"):
        check_dimensions(["cookie_id"], ["country"])
    with pytest.raises(InvalidValue, match="once"):
        check_dimensions(["country", "country"], ["country"])
    domains = {"country": ("DE", "FR")}
    assert check_filters({"country": ["DE", "DE"]}, domains) == {"country": ["DE"]}
    with pytest.raises(InvalidValue, match=r"^where:"):
        check_filters({"country": ["XX"]}, domains)
    with pytest.raises(InvalidValue, match=r"^where:"):
        check_filters({"cookie_id": ["abc"]}, domains)


def test_clamps_and_bins() -> None:
    assert check_clamp(0, 10) == (0.0, 10.0)
    for lower, upper in [(None, 1), (5, 5), (float("inf"), 1)]:
        with pytest.raises(InvalidValue):
            check_clamp(lower, upper)
    assert bin_labels(check_bins([0, 1.5, 10])) == ["[0, 1.5)", "[1.5, 10]"]
    for edges in ([1], [0, 0], [2, 1], [0, float("nan")]):
        with pytest.raises(InvalidValue, match=r"^bins:"):
            check_bins(edges)
