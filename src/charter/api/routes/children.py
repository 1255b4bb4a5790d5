"""Children over HTTP: a parent's consent as the calling service sees it, and the staff action
"improper child registration" (``POST /v1/children/cancellations``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from pydantic import Field

from charter.api.auth import get_charter, require
from charter.api.routes.requests import RequestOut, request_out, token_actor
from charter.api.schemas import UUID_PATTERN, Body, ErrorOut, ParentalConsentOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.tokens import Caller

router = APIRouter(prefix="/v1", tags=["children"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 404, 422)}


class CancellationIn(Body):
    brand: str = Field(max_length=64)
    identities: dict[str, Any] = Field(
        description="How the child is known: email, account_id, phone ..."
    )
    note: str = Field(
        min_length=1,
        max_length=4000,
        description="How the improper registration came to light (kept in the request's history).",
    )


@router.get(
    "/parental-consents/{consent_id}",
    response_model=ParentalConsentOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.COLLECT))],
    summary="Where a parent's consent stands (poll after a 202 from a child's submission)",
)
def parental_consent(
    consent_id: str = Path(pattern=UUID_PATTERN), charter: Charter = Depends(get_charter)
) -> ParentalConsentOut:
    return ParentalConsentOut.model_validate(charter.parents.status(consent_id))


@router.post(
    "/children/cancellations",
    response_model=RequestOut,
    responses=_ERRORS,
    summary="Improper child registration: cancel the account and erase all of it at once",
)
def cancel_registration(
    body: CancellationIn,
    caller: Caller = Depends(require(Permission.CANCEL_CHILD_REGISTRATION)),
    charter: Charter = Depends(get_charter),
) -> RequestOut:
    # A plain def: the erasure reaches outside systems, so it runs in the thread pool.
    view = charter.cancel_child_registration(
        brand=body.brand, identities=body.identities, actor=token_actor(caller), note=body.note
    )
    return request_out(view)
