"""Anonymous aggregate releases: the rules that keep a published statistic about no one.

The policy says anonymous statistics may be shared "never in a fashion that identifies you";
an aggregate that lets a reader single a person out is still personal data (GDPR Recital 26),
so every release follows these rules, protecting **people**, not events:

1. **A public list of cells.** A release lists every cell of the cartesian product of the
   requested dimensions' public domains (every ISO country x every device type), present in
   the data or not: a list of the cells that happen to be present would itself say who is there.
2. **Bounded contributions.** Each person contributes to at most ``M`` cells and at most ``K``
   rows to each cell. Which ones is decided deterministically by the smallest salted hash of
   ``(person, cell)`` and ``(person, row)``: the same release asked again keeps the same
   contributions (noise cannot be averaged away over a person's varying contributions), and a
   person cannot steer which are kept, as the salt is secret (derived from the master key).
3. **Noise.** Differential-privacy noise (OpenDP's Laplace mechanism) with the L1 sensitivity
   these bounds give: ``K * M`` for a count, ``K * M * max(|lower|, |upper|)`` for a sum whose
   values are clamped to ``[lower, upper]``; scale = sensitivity / epsilon.
4. **A budget per dataset.** Releases compose sequentially: the epsilons spent on a dataset
   add up, and a release that would take the sum past the budget is refused
   (``budget_exhausted``), recording nothing. Overlapping releases (by country x device, then by
   country alone) each spend their own epsilon: the overlap is paid for, never free.
5. **Suppression after noise.** A cell whose *noisy* value is below ``k`` is suppressed
   (released as null). A bare ``HAVING count >= k`` on true counts is not enough: with a true
   margin beside it, subtracting the released cells from the margin gives the suppressed cell
   exactly. Here margins are sums of the *released* noisy cells only, so that subtraction gives
   back released information (zero for the suppressed cells), and a margin taken from another
   release carries its own noise, so the difference is off by noise of the same order.

Suppression and margins are post-processing of a differentially private output, so they cost
no budget and cannot weaken the guarantee.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from charter.domain.errors import InvalidInput, InvalidValue

MAX_CELLS = 100_000
"""Cells one release may list (the public domains multiplied)."""
BUDGET_TOLERANCE = 1e-9
"""Epsilons are floats: a sum equal to the budget up to rounding is within it."""

Cell = tuple[str, ...]
P = TypeVar("P", bound=Hashable)
R = TypeVar("R", bound=Hashable)


class Measure(StrEnum):
    COUNT = "count"
    SUM = "sum"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True)
class Bounds:
    """Contribution bounds: ``rows_per_cell`` (K) and ``cells_per_person`` (M)."""

    rows_per_cell: int
    cells_per_person: int

    def __post_init__(self) -> None:
        if self.rows_per_cell < 1 or self.cells_per_person < 1:
            raise InvalidValue("bounds: K and M are whole numbers of at least 1")


def public_cells(domains: Sequence[Sequence[str]]) -> list[Cell]:
    """Every cell of the requested dimensions, in a fixed order (the product of the domains;
    one empty cell, the total, for no dimension)."""
    total = math.prod(len(d) for d in domains)
    if total > MAX_CELLS:
        raise InvalidValue(f"by: {total} cells; a release lists at most {MAX_CELLS}")
    return [tuple(cell) for cell in itertools.product(*domains)]


def check_dimensions(requested: Sequence[str], allowed: Iterable[str]) -> list[str]:
    """The requested dimensions, each one the manifest allows, none twice."""
    known = list(allowed)
    if len(set(requested)) != len(requested):
        raise InvalidValue("by: name each dimension once")
    for key in requested:
        if key not in known:
            raise InvalidValue(
                f"by: '{key}' is not a dimension the manifest allows ({', '.join(known)})"
            )
    return list(requested)


def check_filters(
    filters: Mapping[str, Sequence[str]], domains: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """Filters keep rows whose dimension has one of the values given; only declared dimensions
    and values of their public domain (a filter on an identifier would single someone out)."""
    checked: dict[str, list[str]] = {}
    for key, values in filters.items():
        if key not in domains:
            raise InvalidValue(f"where: '{key}' is not a dimension the manifest allows")
        if not values:
            raise InvalidValue(f"where: give a value for '{key}'")
        for value in values:
            if value not in domains[key]:
                raise InvalidValue(f"where: '{value}' is not a declared value of '{key}'")
        checked[key] = list(dict.fromkeys(values))
    return checked


def check_epsilon(epsilon: float) -> float:
    if not isinstance(epsilon, int | float) or not math.isfinite(epsilon) or epsilon <= 0:
        raise InvalidValue("epsilon: a positive number")
    return float(epsilon)


def check_clamp(lower: float | None, upper: float | None) -> tuple[float, float]:
    """A sum's clamping bounds: both given, finite, lower < upper."""
    if lower is None or upper is None:
        raise InvalidValue("lower, upper: a sum clamps each value to [lower, upper]; give both")
    if not (math.isfinite(lower) and math.isfinite(upper)) or lower >= upper:
        raise InvalidValue("lower, upper: finite numbers with lower < upper")
    return float(lower), float(upper)


def check_bins(edges: Sequence[float]) -> list[float]:
    """A histogram's bin edges: at least two, finite, strictly increasing."""
    if len(edges) < 2 or len(edges) > 101:
        raise InvalidValue("bins: between 2 and 101 edges")
    if not all(math.isfinite(e) for e in edges) or any(
        a >= b for a, b in itertools.pairwise(edges)
    ):
        raise InvalidValue("bins: finite edges in increasing order")
    return [float(e) for e in edges]


def bin_labels(edges: Sequence[float]) -> list[str]:
    """``[a, b)`` per bin, the last closed; values outside the edges are clamped into the first
    or last bin (so every row lands in a public cell)."""
    labels = []
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        closing = "]" if i == len(edges) - 2 else ")"
        labels.append(f"[{_number(a)}, {_number(b)}{closing}")
    return labels


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def sensitivity(measure: Measure, bounds: Bounds, clamp: tuple[float, float] | None) -> float:
    """The L1 sensitivity of the cell vector: how much one person can move it in total."""
    per_row = 1.0
    if measure is Measure.SUM:
        if clamp is None:
            raise InvalidValue("lower, upper: a sum needs clamping bounds")
        per_row = max(abs(clamp[0]), abs(clamp[1]))
    return bounds.rows_per_cell * bounds.cells_per_person * per_row


def noise_scale(l1_sensitivity: float, epsilon: float) -> float:
    """The Laplace scale giving ``epsilon``-differential privacy for that sensitivity."""
    return l1_sensitivity / check_epsilon(epsilon)


def check_budget(spent: float, budget: float, epsilon: float) -> None:
    """Sequential composition: refuse a release that would take ``spent`` past ``budget``."""
    if spent + epsilon > budget + BUDGET_TOLERANCE:
        left = max(0.0, budget - spent)
        raise InvalidInput(
            f"epsilon: {epsilon:g} asked, {left:g} of the dataset's budget of {budget:g} left",
            code="budget_exhausted",
        )


def suppress(noisy: Mapping[Cell, float], k: int) -> dict[Cell, float | None]:
    """Each cell's released value: its noisy value, or None where that is below ``k``."""
    return {cell: (value if value >= k else None) for cell, value in noisy.items()}


def margins(
    released: Mapping[Cell, float | None], dimensions: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Per dimension, the total of each value over the others, from the *released* cells only
    (suppressed cells count for nothing), plus the grand total under ``"*"``. Subtracting
    released cells from these gives back released values, never a suppressed one."""
    found: dict[str, dict[str, float]] = {d: {} for d in dimensions}
    total = 0.0
    for cell, value in released.items():
        if value is None:
            continue
        total += value
        for dimension, part in zip(dimensions, cell, strict=True):
            found[dimension][part] = found[dimension].get(part, 0.0) + value
    found["*"] = {"*": total}
    return found


def bound_contributions(
    rows: Iterable[tuple[P, Cell, R]],
    bounds: Bounds,
    rank: Callable[[str], int],
) -> list[tuple[P, Cell, R]]:
    """The rows kept under ``bounds`` (the rule the SQL of a release applies, stated here in
    plain Python): per person the ``M`` cells with the smallest ``rank(f"{person}|{cell}")``,
    and in each the ``K`` rows with the smallest ``rank(f"{person}|{row}")``. ``rank`` is the
    salted hash."""
    by_person: dict[P, dict[Cell, list[R]]] = {}
    for person, cell, row in rows:
        by_person.setdefault(person, {}).setdefault(cell, []).append(row)
    kept: list[tuple[P, Cell, R]] = []
    for person, cells in by_person.items():
        chosen = sorted(cells, key=lambda c: (rank(f"{person}|{'|'.join(c)}"), c))
        for cell in chosen[: bounds.cells_per_person]:
            ordered = sorted(cells[cell], key=lambda r: (rank(f"{person}|{r}"), str(r)))
            kept.extend((person, cell, r) for r in ordered[: bounds.rows_per_cell])
    return kept
