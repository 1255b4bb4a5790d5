"""The consent ledger and decisions over HTTP."""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field, model_validator

from charter.api.auth import blocking, get_charter, require
from charter.api.routes import gpc
from charter.api.schemas import Body, ErrorOut, SubjectId
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.consents import ConsentRequest

router = APIRouter(prefix="/v1", tags=["consent"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 413, 422)}


class Subject(Body):
    identities: dict[str, Any] | None = Field(default=None, description="Any known identity.")
    subject_id: SubjectId | None = None

    @model_validator(mode="after")
    def _one_way(self) -> Subject:
        if (self.identities is None) == (self.subject_id is None):
            raise ValueError("give identities or subject_id, not both")
        return self


class ConsentIn(Subject):
    brand: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    action: Literal["give", "withdraw", "refuse"]
    notice: str | None = Field(default=None, max_length=20_000, description="Exact text shown.")
    method: str = Field(default="api", max_length=32)
    channel: str = Field(default="any", max_length=16)
    touchpoint: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)
    jurisdiction: str | None = Field(default=None, max_length=16)


class ConsentOut(Body):
    event_id: int
    subject_id: str
    action: str
    receipt_url: str = Field(description="Signed link to the consent receipt; no login needed.")
    receipt: dict[str, Any] = Field(description="The Kantara Consent Receipt v1.1 of this event.")


class DecisionIn(Subject):
    brand: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    categories: list[str] = Field(default_factory=list, max_length=50)
    channel: str = Field(default="any", max_length=16)


class DecisionOut(Body):
    allowed: bool
    basis: str | None
    reason: str


class BatchIn(Body):
    brand: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    categories: list[str] = Field(default_factory=list, max_length=50)
    subject_ids: list[SubjectId] = Field(max_length=10_000)


class BatchItem(DecisionOut):
    subject_id: str


class BatchOut(Body):
    decisions: list[BatchItem]


@router.post(
    "/consents",
    status_code=201,
    response_model=ConsentOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.RECORD_CONSENT))],
    summary="Record one consent event: give, withdraw or refuse, for one purpose",
)
def record_consent(
    body: ConsentIn, request: Request, charter: Charter = Depends(get_charter)
) -> ConsentOut:
    recorded = charter.record_consent(ConsentRequest(**body.model_dump()))
    if gpc.signalled(request):
        # Its own transaction, right after the consent's: a sale/sharing consent given in a
        # request that carries the signal is refused again by the signal.
        charter.opt_out_of_sale(body.brand, recorded.subject_id)
    return ConsentOut(
        event_id=recorded.event_id,
        subject_id=recorded.subject_id,
        action=recorded.action.value,
        receipt_url=charter.receipts.url(recorded.event_id),
        receipt=charter.consent_receipt(recorded.event_id),
    )


DECIDE = require(Permission.DECIDE)
"""The check of ``POST /v1/decisions``, shared with its fast path (``charter.api.fast``)."""


@router.post(
    "/decisions",
    response_model=DecisionOut,
    responses=_ERRORS,
    dependencies=[Depends(DECIDE)],
    summary="May this purpose use these categories of this person's data now?",
)
async def decide(body: DecisionIn, charter: Charter = Depends(get_charter)) -> Response:
    return await answer_decision(body, charter)


async def answer_decision(body: DecisionIn, charter: Charter) -> Response:
    """The route's answer, also given by its fast path (``charter.api.fast``)."""
    # The hot path: no thread hop on SQLite (see ``blocking``) and the answer serialised
    # directly; ``response_model`` still documents its schema.
    decision = await blocking(
        charter,
        partial(
            charter.decide,
            body.purpose,
            body.categories,
            brand=body.brand,
            subject_id=body.subject_id,
            identities=body.identities,
            channel=body.channel,
        ),
    )
    return _json({"allowed": decision.allowed, "basis": decision.basis, "reason": decision.reason})


@router.post(
    "/decisions:batch",
    response_model=BatchOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.DECIDE))],
    summary="One purpose for many subjects (a marketing send, an analytics job)",
)
def decide_batch(body: BatchIn, charter: Charter = Depends(get_charter)) -> Response:
    decisions = charter.decide_many(
        body.purpose, body.categories, brand=body.brand, subject_ids=body.subject_ids
    )
    # Decisions are a few shared values: each is serialised once, then joined per subject
    # (subject ids are letters, digits and hyphens, so they need no escaping).
    tails: dict[int, str] = {}
    for d in decisions:
        if id(d) not in tails:
            tails[id(d)] = json.dumps(
                {"allowed": d.allowed, "basis": d.basis, "reason": d.reason}, separators=(",", ":")
            )[1:]
    items = ",".join(
        f'{{"subject_id":"{sid}",{tails[id(d)]}'
        for sid, d in zip(body.subject_ids, decisions, strict=True)
    )
    return Response('{"decisions":[' + items + "]}", media_type="application/json")


def _json(content: dict[str, Any]) -> Response:
    return Response(json.dumps(content, separators=(",", ":")), media_type="application/json")
