"""Unsubscribe by a signed link, without login (ePrivacy Art. 13(2); RFC 2369 and RFC 8058).

``GET /v1/unsubscribe?token=...`` only shows a confirmation page with a one-button form: link
scanners and mail previews fetch URLs, and a GET must not unsubscribe anyone. ``POST`` to the
same URL performs it, as RFC 8058 one-click mail clients do (form body
``List-Unsubscribe=One-Click``), answering 200 with no redirect. A tampered token is 403
``invalid_token``; a genuine one works any number of times, within the rate limits: per client
address (``CHARTER_UNSUBSCRIBE_RATE_LIMIT``, high, as mail providers send one-click POSTs from
shared servers) and per subject of the link (``CHARTER_IDENTITY_RATE_LIMIT``).
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from charter.api.auth import get_charter
from charter.api.routes import gpc
from charter.api.schemas import ErrorOut
from charter.facade import Charter
from charter.services.preferences import UnsubscribeLink
from charter.web.ratelimit import hit_identity, limited

router = APIRouter(prefix="/v1", tags=["preferences"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (403, 429)}
_CHANNEL_TEXT = {"email": "emails", "sms": "text messages", "post": "letters"}
_TOKEN = Query(default="", description="The signed token from the unsubscribe link.")
_LIMIT = "unsubscribe_rate_limit"


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("charter.api", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )


def _page(charter: Charter, link: UnsubscribeLink, *, done: bool) -> HTMLResponse:
    # The form has no action: it posts back to the page's own URL, token included, which
    # stays right behind a proxy that serves Charter under a path prefix.
    brand = charter.manifest.brands.get(link.brand)
    brand_name = brand.name if brand else link.brand
    channel_text = _CHANNEL_TEXT.get(link.channel, "messages")
    title = "You are unsubscribed" if done else f"Unsubscribe from {brand_name} {channel_text}"
    html = (
        _environment()
        .get_template("unsubscribe.html.j2")
        .render(
            title=title,
            done=done,
            brand=brand_name,
            channel_text=channel_text,
            policy_url=f"/policy?brand={quote(link.brand)}" if brand else "/policy",
        )
    )
    # The page holds a capability (the token): keep it out of caches and referrers.
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(html, headers=headers)


@router.get(
    "/unsubscribe",
    response_class=HTMLResponse,
    responses=_ERRORS,
    dependencies=[Depends(limited("unsubscribe_page", _LIMIT))],
    summary="Unsubscribe confirmation page (public, by signed link)",
)
def confirm(
    request: Request, token: str = _TOKEN, charter: Charter = Depends(get_charter)
) -> HTMLResponse:
    link = charter.preferences.read_unsubscribe_token(token)
    hit_identity(request, "unsubscribe_page", "subject", link.subject_id)
    return _page(charter, link, done=False)


@router.post(
    "/unsubscribe",
    responses=_ERRORS,
    dependencies=[Depends(limited("unsubscribe", _LIMIT))],
    summary="Unsubscribe (public; RFC 8058 one-click POST)",
)
def perform(
    request: Request, token: str = _TOKEN, charter: Charter = Depends(get_charter)
) -> Response:
    subject = charter.preferences.read_unsubscribe_token(token).subject_id
    hit_identity(request, "unsubscribe", "subject", subject)
    link, _changed = charter.unsubscribe_by_link(token)
    if gpc.signalled(request):
        # A click from the person's browser (mail servers' one-click POSTs carry no signal).
        charter.opt_out_of_sale(link.brand, link.subject_id)
    if "text/html" in request.headers.get("accept", ""):
        return _page(charter, link, done=True)
    return JSONResponse(
        {"unsubscribed": True, "brand": link.brand, "channel": link.channel},
        headers={"Cache-Control": "no-store"},
    )
