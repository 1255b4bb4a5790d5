"""Consent receipts by signed link: the person downloads one without logging in.

``GET /v1/consents/receipts/{event_id}?token=...`` answers the Kantara v1.1 receipt when the
token was made for that event (403 ``invalid_token`` otherwise). Staff and services may instead
send their bearer token (permission ``read_receipts``) instead of a link token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse

from charter.api.auth import get_charter, staff_or_person
from charter.api.schemas import ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.tokens import Caller

router = APIRouter(prefix="/v1", tags=["consent"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 404, 422)}


@router.get(
    "/consents/receipts/{event_id}",
    responses=_ERRORS,
    summary="The consent receipt of one consent event (Kantara Consent Receipt v1.1)",
)
def receipt(
    event_id: int = Path(ge=1, le=2**31 - 1),
    token: str | None = Query(default=None, description="The token from the receipt link."),
    staff: Caller | None = Depends(staff_or_person(Permission.READ_RECEIPTS)),
    charter: Charter = Depends(get_charter),
) -> JSONResponse:
    if token is not None or staff is None:  # a link token given is checked, staff or not
        charter.receipts.check(event_id, token or "")
    return JSONResponse(
        charter.consent_receipt(event_id), headers={"Cache-Control": "private, no-store"}
    )
