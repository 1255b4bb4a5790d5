"""Checking a customer's password: ``POST /v1/credentials/verify``
(``charter.services.credentials``).

The password travels in the JSON body only: a call with a query string is refused before
anything is read, since a URL ends up in access logs and proxies. Each identity named counts
against the per-identity rate limit (``identity_rate_limit`` calls an hour), so that guessing
one person's password is slow from however many addresses; the brand's sign-in calls from its
own servers, so no limit per client address applies (one address serves all its customers).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from charter.api.auth import get_charter, require
from charter.api.schemas import Body, ErrorOut
from charter.domain.errors import InvalidInput, InvalidValue
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.manifest.models import IdentityKind
from charter.services.credentials import MAX_PASSWORD
from charter.services.values import normalise_identity
from charter.web.ratelimit import hit_identity

router = APIRouter(prefix="/v1", tags=["credentials"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (401, 403, 404, 413, 422, 429)
}
_BUCKET = "password_verify"


class VerifyIn(Body):
    brand: str = Field(max_length=64)
    identities: dict[str, Any] = Field(
        description="email, phone, account_id, device_serial ... naming one person."
    )
    password: str = Field(
        min_length=1,
        max_length=MAX_PASSWORD,
        description="The password typed at sign-in. Only ever in the body; never logged.",
    )
    touchpoint: str | None = Field(
        default=None,
        max_length=64,
        description="Check the password collected at this touchpoint only (default: the "
        "latest collected at any touchpoint of the brand).",
    )


class VerifyOut(Body):
    valid: bool


async def no_query_string(request: Request) -> None:
    """Refuse a query string: a password put there would be in every access log."""
    if request.url.query:
        raise InvalidInput(
            "this endpoint takes no query parameters; send everything, the password above all, "
            "in the JSON body",
            code="query_not_allowed",
        )


@router.post(
    "/credentials/verify",
    response_model=VerifyOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.VERIFY_PASSWORD)), Depends(no_query_string)],
    summary="Check a customer's password (the answer is the same for anybody unknown)",
)
def verify(
    body: VerifyIn, request: Request, charter: Charter = Depends(get_charter)
) -> JSONResponse:
    region = charter.manifest.policy.default_phone_region
    for name, value in body.identities.items():
        try:
            normalised = normalise_identity(IdentityKind(name), value, region)
        except (ValueError, InvalidValue):
            continue  # refused below, by the service, with what is wrong
        hit_identity(request, _BUCKET, name, normalised)
    valid = charter.credentials.verify(
        body.brand, body.identities, body.password, touchpoint=body.touchpoint
    )
    return JSONResponse({"valid": valid}, headers={"Cache-Control": "no-store"})
