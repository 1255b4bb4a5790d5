"""Public pages and probes: ``/healthz`` and ``/policy``."""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import text

from charter.api.auth import get_charter
from charter.api.schemas import ErrorOut, Health
from charter.facade import Charter
from charter.manifest.render import policy_styles, render_policy_html
from charter.web.security import content_security_policy, sha256_source

router = APIRouter()


@router.get(
    "/healthz", response_model=Health, tags=["operations"], summary="Liveness and database check"
)
def healthz(charter: Charter = Depends(get_charter)) -> Health:
    with charter.store.read() as connection:
        connection.execute(text("SELECT 1"))
    return Health(status="ok", policy_version=charter.manifest.policy.version)


@router.get(
    "/policy",
    response_class=HTMLResponse,
    responses={404: {"model": ErrorOut}},
    tags=["policy"],
    summary="The public privacy policy, rendered from the manifest",
)
def policy(
    brand: str | None = Query(
        default=None, max_length=64, description="A brand key for its own page."
    ),
    charter: Charter = Depends(get_charter),
) -> HTMLResponse:
    return HTMLResponse(
        render_policy_html(charter.manifest, brand),
        headers={"Content-Security-Policy": policy_csp()},
    )


@cache
def policy_csp() -> str:
    """The pages' policy, with the policy page's own inline style allowed by its hash."""
    return content_security_policy(style_src=[sha256_source(s) for s in policy_styles()])
