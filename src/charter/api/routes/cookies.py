"""The cookie banner over HTTP: its content, a visitor's choice, and linking at sign-in.

``GET /v1/cookie-banner/{brand}`` and ``POST /v1/cookie-consent`` are public (the banner
script on a brand's site calls them); the choice is rate limited per client address and per
cookie id (``CHARTER_IDENTITY_RATE_LIMIT``), so nobody fills a visitor's ledger. A request
carrying ``Sec-GPC: 1`` counts as the Global Privacy Control signal, as does ``"gpc": true``
in the body (the script reads ``navigator.globalPrivacyControl``). Method ``gpc`` is the script
recording the signal alone, without a click, against a stored choice that it overrules; a
sign-in link carrying the header records the opt-out for the person signing in.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from charter.api.auth import get_charter, require
from charter.api.routes import gpc
from charter.api.schemas import Body, ErrorOut
from charter.domain.cookie_banner import ChoiceMethod
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.cookie_banner import CookieChoice
from charter.web.ratelimit import hit_identity, limited

router = APIRouter(prefix="/v1", tags=["cookies"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (404, 409, 413, 422, 429)
}


class ChoiceIn(Body):
    brand: str = Field(max_length=64)
    method: ChoiceMethod = Field(
        description="The button used; closing the banner refuses like 'reject_all'. 'gpc': no "
        "button, the GPC signal alone corrects the stored choice given as 'choices'."
    )
    choices: dict[str, bool] | None = Field(
        default=None,
        max_length=50,
        description="For 'customize' and 'gpc': category key -> consent; a category left out "
        "is refused.",
    )
    cookie_id: str | None = Field(
        default=None,
        max_length=64,
        description="The visitor's first-party cookie id; a new one is made when absent.",
    )
    language: str = Field(max_length=8, description="The language the banner was shown in.")
    config_version: str = Field(max_length=64, description="As served with the banner.")
    text_version: str = Field(max_length=64, description="As served with the banner.")
    gpc: bool = Field(default=False, description="navigator.globalPrivacyControl was true.")
    stored_expires: int | None = Field(
        default=None,
        ge=0,
        le=253_402_300_799,  # 9999-12-31T23:59:59Z
        description="For 'gpc': the stored choice's expiry (epoch seconds, as in its cookie); "
        "the rewritten cookie does not outlive it.",
    )


class CookieOut(Body):
    name: str
    value: str
    max_age: int = Field(description="Seconds until the banner asks again.")


class ChoiceOut(Body):
    cookie_id: str
    choices: dict[str, bool] = Field(description="Consent per category asking for it.")
    expires_at: str
    cookie: CookieOut = Field(description="The first-party cookie for the script to set.")
    tc_string: str | None = Field(description="IAB TCF v2.2 TC string (TCF brands), else null.")
    gpc_honoured: bool
    receipts: dict[str, str] = Field(description="Category -> signed consent receipt link.")


class LinkIn(Body):
    cookie_id: str = Field(max_length=64)
    identities: dict[str, Any] = Field(description="The signed-in person: email, account_id ...")
    brand: str | None = Field(
        default=None,
        max_length=64,
        description="The brand signed in to: with Sec-GPC: 1 the opt-out is recorded for it "
        "(for every brand when absent).",
    )


class LinkOut(Body):
    subject_id: str


@router.get(
    "/cookie-banner/{brand}",
    responses=_ERRORS,
    summary="What the cookie banner shows for a brand, in the visitor's language",
)
def banner(
    brand: str,
    request: Request,
    response: Response,
    lang: str | None = Query(default=None, max_length=64, description="Wanted languages."),
    charter: Charter = Depends(get_charter),
) -> dict[str, Any]:
    wanted = lang or request.headers.get("accept-language", "")[:200]
    response.headers["Vary"] = "Accept-Language, Sec-GPC"
    response.headers["Cache-Control"] = "public, max-age=300"
    return charter.cookie_banner.config(brand, wanted, gpc.signalled(request))


@router.post(
    "/cookie-consent",
    status_code=201,
    response_model=ChoiceOut,
    responses=_ERRORS,
    dependencies=[Depends(limited("cookie_consent", "cookie_rate_limit"))],
    summary="Record a visitor's cookie banner choice in the consent ledger",
)
def record_choice(
    body: ChoiceIn, request: Request, charter: Charter = Depends(get_charter)
) -> ChoiceOut:
    hit_identity(request, "cookie_consent", "cookie_id", body.cookie_id)
    recorded = charter.cookie_banner.record(
        CookieChoice(
            brand=body.brand,
            method=body.method,
            language=body.language,
            config_version=body.config_version,
            text_version=body.text_version,
            choices=body.choices,
            cookie_id=body.cookie_id,
            gpc=body.gpc or gpc.signalled(request),
            stored_expires=body.stored_expires,
        )
    )
    return ChoiceOut(
        cookie_id=recorded.cookie_id,
        choices=recorded.choices,
        expires_at=recorded.expires_at,
        cookie=CookieOut(
            name=charter.manifest.cookie_banner.consent_cookie,
            value=recorded.cookie_value,
            max_age=recorded.max_age,
        ),
        tc_string=recorded.tc_string,
        gpc_honoured=recorded.gpc_honoured,
        receipts=recorded.receipts,
    )


@router.post(
    "/cookie-consent/link",
    response_model=LinkOut,
    responses={s: {"model": ErrorOut} for s in (401, 403, 413, 422)},
    dependencies=[Depends(require(Permission.COLLECT))],
    summary="At sign-in: link the visitor's cookie id, and so its banner choices, to the person",
)
def link(body: LinkIn, request: Request, charter: Charter = Depends(get_charter)) -> LinkOut:
    subject_id = charter.cookie_banner.link(
        body.cookie_id, body.identities, body.brand, gpc.signalled(request)
    )
    return LinkOut(subject_id=subject_id)
