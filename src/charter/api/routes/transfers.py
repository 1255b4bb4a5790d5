"""The transfers register over HTTP (``charter.services.transfers``): ``GET /v1/transfers`` for
the privacy team and auditors, and the public ``POST /v1/transfers/{recipient}/safeguard-requests``
by which a person has a copy of a transfer's safeguard mailed to them (rate limited per client
address and per e-mail, like the other public endpoints)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import Field

from charter.api.auth import get_charter, require
from charter.api.schemas import Body, ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.web.ratelimit import hit_identity, limited

router = APIRouter(prefix="/v1", tags=["transfers"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (401, 403, 404, 422, 429)
}


class TransferOut(Body):
    recipient: str
    name: str
    kind: str
    country: str
    mechanism: str | None = Field(description="None: the manifest declares no mechanism.")
    mechanism_text: str | None
    module: int | None
    reference: str | None
    copy_url: str | None
    categories: list[str]
    purposes: list[str]
    disclosures: int = Field(description="Disclosures to it that the ledger records as made.")


class TransfersOut(Body):
    home_region: str
    transfers: list[TransferOut]


class SafeguardRequestIn(Body):
    email: str = Field(max_length=320, description="Where to send the copy.")
    brand: str = Field(max_length=64)


class SafeguardSentOut(Body):
    status: str = "sent"


@router.get(
    "/transfers",
    response_model=TransfersOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.READ_REGISTERS))],
    summary="The transfers register: recipients outside the home region and their safeguards",
)
def register(charter: Charter = Depends(get_charter)) -> TransfersOut:
    return TransfersOut(
        home_region=charter.manifest.policy.home_region,
        transfers=[TransferOut(**asdict(t)) for t in charter.transfers.register()],
    )


@router.post(
    "/transfers/{recipient}/safeguard-requests",
    status_code=202,
    response_model=SafeguardSentOut,
    responses=_ERRORS,
    dependencies=[Depends(limited("safeguard_request"))],
    summary="A person asks for a copy of a transfer's safeguard; it is mailed to them",
)
def safeguard_request(
    body: SafeguardRequestIn,
    request: Request,
    recipient: str = Path(pattern=r"^[a-z][a-z0-9_]*$", max_length=64),
    charter: Charter = Depends(get_charter),
) -> SafeguardSentOut:
    hit_identity(request, "safeguard_request", "email", body.email)
    charter.transfers.send_safeguard(recipient, body.email, body.brand)
    return SafeguardSentOut()
