"""Anonymous aggregate statistics over HTTP: a release (counts, sums, histograms protected by
differential privacy, ``charter.services.statistics``) and the privacy budget left per dataset.

Both need ``release_statistics``: a release spends the dataset's budget and discloses to a
recipient; the budget says how much is left for the next one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from charter.api.auth import get_charter, require
from charter.api.routes.requests import token_actor
from charter.api.schemas import Body, ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.statistics import ReleaseRequest
from charter.services.tokens import Caller

router = APIRouter(prefix="/v1", tags=["statistics"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 422)}
_RELEASE = Depends(require(Permission.RELEASE_STATISTICS))


class ReleaseIn(Body):
    dataset: str = Field(
        min_length=1, max_length=64, description="A Parquet system of the manifest (`events`)."
    )
    measure: Literal["count", "sum", "histogram"] = "count"
    by: list[str] = Field(
        default_factory=list,
        max_length=5,
        description="Dimensions the manifest's `statistics.dimensions` allows.",
    )
    where: dict[str, list[str]] = Field(
        default_factory=dict,
        max_length=5,
        description="Keep rows whose dimension has one of these declared values.",
    )
    epsilon: float | None = Field(
        default=None, gt=0, le=100, description="Epsilon spent; the manifest's default if omitted."
    )
    recipient: str = Field(
        min_length=1,
        max_length=200,
        description="A manifest recipient's key, or the name of a third party (where the "
        "policy says aggregate statistics are shared).",
    )
    purpose: str | None = Field(default=None, max_length=1000, description="Why, for the log.")
    column: str | None = Field(
        default=None, max_length=64, description="The numeric column of a sum or histogram."
    )
    lower: float | None = Field(default=None, description="A sum clamps values to [lower, upper].")
    upper: float | None = None
    bins: list[float] = Field(
        default_factory=list, max_length=101, description="A histogram's bin edges."
    )


class ReleaseOut(BaseModel):
    id: str
    dataset: str
    measure: str
    dimensions: list[str]
    where: dict[str, list[str]]
    epsilon: float
    noise_scale: float = Field(description="The Laplace scale: sensitivity / epsilon.")
    sensitivity: float = Field(description="L1 sensitivity from the contribution bounds.")
    k: int = Field(description="Cells whose noisy value is below k are null.")
    rows_per_cell: int
    cells_per_person: int
    recipient: str
    recipient_name: str
    created_at: dt.datetime
    cells: list[dict[str, Any]] = Field(description="Every public cell; null where suppressed.")
    margins: dict[str, Any] = Field(description="Sums of the released cells only.")
    suppressed: int
    disclosure_id: str | None
    budget: float
    spent: float


class BudgetOut(BaseModel):
    dataset: str
    budget: float
    spent: float
    remaining: float
    releases: int


@router.post(
    "/statistics/releases",
    status_code=201,
    response_model=ReleaseOut,
    responses=_ERRORS,
    summary="Release anonymous aggregate statistics (differential privacy, suppression below k)",
)
def release(
    body: ReleaseIn,
    caller: Caller = _RELEASE,
    charter: Charter = Depends(get_charter),
) -> ReleaseOut:
    # A plain def: the query reads Parquet files, so it runs in the thread pool.
    made = charter.statistics.release(
        ReleaseRequest(
            dataset=body.dataset,
            measure=body.measure,
            by=body.by,
            where=body.where,
            epsilon=body.epsilon,
            recipient=body.recipient,
            purpose=body.purpose,
            column=body.column,
            lower=body.lower,
            upper=body.upper,
            bins=body.bins,
        ),
        token_actor(caller),
    )
    return ReleaseOut(
        id=made.id,
        dataset=made.dataset,
        measure=made.measure,
        dimensions=made.dimensions,
        where=made.where,
        epsilon=made.epsilon,
        noise_scale=made.noise_scale,
        sensitivity=made.sensitivity,
        k=made.k,
        rows_per_cell=made.rows_per_cell,
        cells_per_person=made.cells_per_person,
        recipient=made.recipient,
        recipient_name=made.recipient_name,
        created_at=made.created_at,
        cells=made.cells,
        margins=made.margins,
        suppressed=made.suppressed,
        disclosure_id=made.disclosure_id,
        budget=made.budget,
        spent=made.spent,
    )


@router.get(
    "/statistics/budget",
    response_model=list[BudgetOut],
    responses=_ERRORS,
    summary="The privacy budget per dataset: total, spent, remaining",
)
def budget(
    caller: Caller = _RELEASE,
    charter: Charter = Depends(get_charter),
) -> list[BudgetOut]:
    return [
        BudgetOut(
            dataset=b.dataset,
            budget=b.budget,
            spent=b.spent,
            remaining=b.remaining,
            releases=b.releases,
        )
        for b in charter.statistics.budget()
    ]
