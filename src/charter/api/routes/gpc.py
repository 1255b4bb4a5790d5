"""Global Privacy Control: the well-known resource and the request signal.

A request carrying ``Sec-GPC: 1`` is a person's opt-out of sale, sharing and targeted
advertising (CCPA/CPRA regulations, section 7025). Routes that name a person (a submission, a
consent) record it for that person through ``Charter.opt_out_of_sale``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from charter.api.auth import get_charter
from charter.facade import Charter

router = APIRouter(tags=["preferences"])


class GpcSupport(BaseModel):
    gpc: bool
    lastUpdate: str = Field(description="When this support statement last changed (ISO 8601).")


def signalled(request: Request) -> bool:
    """Whether the request carries the GPC signal (the header's only defined value is 1)."""
    return request.headers.get("sec-gpc", "").strip() == "1"


@router.get(
    "/.well-known/gpc.json",
    response_model=GpcSupport,
    summary="Global Privacy Control support resource",
)
def gpc_json(charter: Charter = Depends(get_charter)) -> GpcSupport:
    return GpcSupport(gpc=True, lastUpdate=charter.manifest.policy.effective_date.isoformat())
