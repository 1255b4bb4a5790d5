"""Global Privacy Control: the well-known resource and the request signal.

A request carrying ``Sec-GPC: 1`` is a person's opt-out of sale, sharing and targeted
advertising (CCPA/CPRA regulations, section 7025), to be honoured without any further action of
the person. Every route that names a person or a cookie id records it for them through
``Charter.opt_out_of_sale`` (idempotent: once in place, nothing is repeated): a submission, a
consent, a cookie banner choice (including the script's own ``gpc`` correction of a stored
choice), the cookie id linked at sign-in, the verification of a rights request and the privacy
center's pages of a verified request, and an unsubscribe click. Staff routes never do: the
browser there is staff's, not the person's.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from charter.api.auth import get_charter
from charter.domain.cookie_banner import gpc_signalled
from charter.facade import Charter

router = APIRouter(tags=["preferences"])


class GpcSupport(BaseModel):
    gpc: bool
    lastUpdate: str = Field(description="When this support statement last changed (ISO 8601).")


def signalled(request: Request) -> bool:
    """Whether the request carries the GPC signal (the header's only defined value is 1)."""
    return gpc_signalled(request.headers.get("sec-gpc"))


@router.get(
    "/.well-known/gpc.json",
    response_model=GpcSupport,
    summary="Global Privacy Control support resource",
)
def gpc_json(charter: Charter = Depends(get_charter)) -> GpcSupport:
    return GpcSupport(gpc=True, lastUpdate=charter.manifest.policy.effective_date.isoformat())
