"""Consent receipts by signed link: the person downloads one without logging in.

``GET /v1/consents/receipts/{event_id}?token=...`` answers the Kantara v1.1 receipt when the
token was made for that event (403 ``invalid_token`` otherwise). Staff and services may instead
send their bearer token (permission ``read_receipts``) and no link token.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from charter.api.auth import get_charter
from charter.api.schemas import ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter

router = APIRouter(prefix="/v1", tags=["consent"])
_bearer = HTTPBearer(auto_error=False, description="A token from `charter token create`.")
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 404, 422)}


@router.get(
    "/consents/receipts/{event_id}",
    responses=_ERRORS,
    summary="The consent receipt of one consent event (Kantara Consent Receipt v1.1)",
)
def receipt(
    event_id: int = Path(ge=1, le=2**31 - 1),
    token: str | None = Query(default=None, description="The token from the receipt link."),
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    charter: Charter = Depends(get_charter),
) -> JSONResponse:
    if token is not None or credentials is None:
        charter.receipts.check(event_id, token or "")
    else:
        charter.authorise(credentials.credentials, Permission.READ_RECEIPTS)
    return JSONResponse(
        charter.consent_receipt(event_id), headers={"Cache-Control": "private, no-store"}
    )
