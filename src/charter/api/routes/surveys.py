"""Published survey results over HTTP (``charter.services.surveys``).

- ``POST /v1/surveys/{touchpoint}/results`` (``release_statistics``): publish a result: noisy
  counts of every declared choice, suppressed below k, and quotes only from people who allowed
  it. It spends the touchpoint's privacy budget and discloses to the public.
- ``GET /v1/surveys/results`` (``release_statistics``): the results published, newest first.
- ``GET /v1/surveys/results/{result_id}`` (public, rate limited): a published result, its
  quotes re-checked against their authors' permission at every read.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from charter.api.auth import get_charter, require
from charter.api.routes.requests import token_actor
from charter.api.schemas import Body, ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.surveys import ResultRequest, SurveyResult
from charter.services.tokens import Caller
from charter.web.ratelimit import limited

router = APIRouter(prefix="/v1", tags=["surveys"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 404, 422)}
_PUBLIC_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (404, 422, 429)}
_RELEASE = Depends(require(Permission.RELEASE_STATISTICS))
ResultId = Path(min_length=1, max_length=36, pattern=r"^[0-9a-fA-F-]+$")


class ResultIn(Body):
    title: str = Field(min_length=1, max_length=200, description="The result's heading.")
    brand: str | None = Field(
        default=None, max_length=64, description="Only the answers given to this brand."
    )
    since: dt.datetime | None = Field(
        default=None, description="Only answers given at or after this time (with a zone)."
    )
    until: dt.datetime | None = Field(
        default=None, description="Only answers given before this time (with a zone)."
    )
    epsilon: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="Epsilon spent, split over the fields; the manifest's default if omitted.",
    )
    quotes: bool = Field(
        default=False,
        description="Publish the comments of people who allowed it, signed with their name.",
    )


class ChoiceOut(BaseModel):
    choice: str
    count: int | None = Field(description="Noisy count; null when below k (suppressed).")


class FieldOut(BaseModel):
    field: str
    choices: list[ChoiceOut] = Field(description="Every declared choice, answered or not.")


class QuoteOut(BaseModel):
    text: str
    name: str


class ResultOut(BaseModel):
    id: str
    touchpoint: str
    touchpoint_name: str
    brand: str | None
    title: str
    since: dt.datetime | None
    until: dt.datetime | None
    published_at: dt.datetime
    epsilon: float
    noise_scale: float = Field(description="The Laplace scale of every count.")
    k: int = Field(description="Counts whose noisy value is below k are null.")
    fields: list[FieldOut]
    suppressed: int
    quotes: list[QuoteOut] = Field(
        description="Only from people whose permission to be named stands now."
    )


class PublishedOut(ResultOut):
    disclosure_id: str | None
    budget: float
    spent: float


class SummaryOut(BaseModel):
    id: str
    touchpoint: str
    brand: str | None
    title: str
    published_at: dt.datetime
    published_by: str
    epsilon: float
    suppressed: int
    quotes: int = Field(description="Quotes published at the time (some may since be hidden).")
    disclosure_id: str | None


def result_out(made: SurveyResult) -> ResultOut:
    return ResultOut(
        id=made.id,
        touchpoint=made.touchpoint,
        touchpoint_name=made.touchpoint_name,
        brand=made.brand,
        title=made.title,
        since=made.since,
        until=made.until,
        published_at=made.published_at,
        epsilon=made.epsilon,
        noise_scale=made.noise_scale,
        k=made.k,
        fields=[FieldOut.model_validate(f) for f in made.fields],
        suppressed=made.suppressed,
        quotes=[QuoteOut(text=q.text, name=q.name) for q in made.quotes],
    )


@router.post(
    "/surveys/{touchpoint}/results",
    status_code=201,
    response_model=PublishedOut,
    responses=_ERRORS,
    summary="Publish a survey's results (noisy counts, suppression below k, permitted quotes)",
)
def publish(
    body: ResultIn,
    touchpoint: str = Path(max_length=64),
    caller: Caller = _RELEASE,
    charter: Charter = Depends(get_charter),
) -> PublishedOut:
    # A plain def: it opens every answer and draws noise, so it runs in the thread pool.
    made = charter.surveys.publish(
        ResultRequest(
            touchpoint=touchpoint,
            title=body.title,
            brand=body.brand,
            since=body.since,
            until=body.until,
            epsilon=body.epsilon,
            quotes=body.quotes,
        ),
        token_actor(caller),
    )
    budget = charter.surveys.budget(made.touchpoint)
    return PublishedOut(
        **result_out(made).model_dump(),
        disclosure_id=made.disclosure_id,
        budget=budget.budget,
        spent=budget.spent,
    )


@router.get(
    "/surveys/results",
    response_model=list[SummaryOut],
    responses=_ERRORS,
    summary="The survey results published, newest first",
)
def results(
    touchpoint: str | None = Query(default=None, max_length=64),
    caller: Caller = _RELEASE,
    charter: Charter = Depends(get_charter),
) -> list[SummaryOut]:
    return [
        SummaryOut(
            id=s.id,
            touchpoint=s.touchpoint,
            brand=s.brand,
            title=s.title,
            published_at=s.published_at,
            published_by=s.published_by,
            epsilon=s.epsilon,
            suppressed=s.suppressed,
            quotes=s.quotes,
            disclosure_id=s.disclosure_id,
        )
        for s in charter.surveys.results(touchpoint)
    ]


@router.get(
    "/surveys/results/{result_id}",
    response_model=ResultOut,
    responses=_PUBLIC_ERRORS,
    summary="A published survey result (public; quotes re-checked at every read)",
    dependencies=[Depends(limited("survey_results"))],
)
def result(
    result_id: str = ResultId,
    charter: Charter = Depends(get_charter),
) -> JSONResponse:
    out = result_out(charter.surveys.result(result_id))
    # Never cached: a quote withdrawn since must not be served from a cache.
    return JSONResponse(out.model_dump(mode="json"), headers={"Cache-Control": "no-store"})
