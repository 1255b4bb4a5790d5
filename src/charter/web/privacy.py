"""The privacy center: ``/privacy`` (per brand: ``/privacy?brand=akkord_pro``).

A person files a request with a plain form, confirms it with the code sent by e-mail, and then
follows it (and downloads their data) on a status page. Works without JavaScript. The link in
the e-mail only opens a confirmation page: mail scanners fetch links, and a GET must change
nothing. After verification the access token is kept in an HttpOnly cookie limited to that
request's pages, so it never appears in a URL.

Filing, confirming and asking for a new code are rate limited like the API's calls, sharing
their counts (per client address, and per e-mail or request); a refused form is shown again
with the reason, status 429 and ``Retry-After``, and nothing is recorded.

Every page is in the person's language (GDPR Art. 12(1), ``charter.domain.page_languages``):
the one they chose with the switcher (``?lang=``, kept by the forms), else their request's,
else their browser's ``Accept-Language``, else the brand's default. A request is filed in the
page's language, so its mails and its access report follow.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from charter.domain.cookie_banner import gpc_signalled
from charter.domain.errors import (
    CharterError,
    InvalidValue,
    NotFound,
    RateLimited,
    Unauthorized,
)
from charter.domain.page_languages import page_language
from charter.domain.requests import RequestType
from charter.facade import Charter
from charter.services.mail_language import offered_languages
from charter.services.page_texts import NAMES, HtmlTexts, PageTexts
from charter.services.request_reading import RequestView
from charter.services.requests import NewRequest
from charter.web.pages import charter_of, environment, package_download
from charter.web.ratelimit import hit_client, hit_identity, limited

router = APIRouter(prefix="/privacy", include_in_schema=False)
RequestId = Path(pattern=r"^[0-9a-f-]{36}$")
COOKIE = "charter_request"

Lang = Query(default="", max_length=16, alias="lang")
"""The language the person chose with the switcher (a tag; what is not offered is ignored)."""
LangForm = Form(default="", max_length=16, alias="lang")

TYPES = [t.value for t in RequestType]
"""What the form offers, in this order."""
SKIPPED_HISTORY = frozenset({"reminder"})
"""History the person is not shown (reminders are staff's)."""


def _brand(charter: Charter, brand: str) -> str:
    """``brand``, or the first brand for a page about none known (the action answers that)."""
    return brand if brand in charter.manifest.brands else next(iter(charter.manifest.brands))


def _texts(
    request: Request, charter: Charter, brand: str, chosen: str, filed: str | None = None
) -> PageTexts:
    """The texts of a page in the person's language (see the module docstring)."""
    manifest = charter.manifest
    return PageTexts(
        page_language(
            chosen=chosen or None,
            request=filed,
            accept_language=request.headers.get("accept-language"),
            brand_default=manifest.brands[_brand(charter, brand)].default_language,
            offered=offered_languages(manifest),
        )
    )


def _render(
    charter: Charter,
    brand: str,
    template: str,
    texts: PageTexts,
    here: tuple[str, dict[str, str]],
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page; ``here`` (path and query) is where the switcher's links lead, with ``lang``."""
    manifest = charter.manifest
    brand = _brand(charter, brand)
    path, query = here
    offered = offered_languages(manifest)
    languages = [
        (code, name, f"{path}?{urlencode({**query, 'lang': code})}")
        for code, name in NAMES.items()
        if code in offered
    ]
    html = (
        environment()
        .get_template(template)
        .render(
            brand=brand,
            brand_name=manifest.brands[brand].name,
            policy_url=f"/policy?brand={quote(brand)}",
            contact_email=(manifest.policy.dpo or manifest.policy.controller).email,
            lang=texts.language,
            languages=languages,
            texts=texts,
            t=HtmlTexts(texts),
            **context,
        )
    )
    headers = {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "Content-Language": texts.language,
    }
    return HTMLResponse(html, status_code=status, headers=headers)


def _status_for(error: CharterError) -> int:
    if isinstance(error, RateLimited):
        return 429
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Unauthorized):
        return 401
    return 422


def _message(texts: PageTexts, error: CharterError) -> str:
    """What went wrong, in the page's language when Charter words it for people (by the
    error's code); else the error's own message."""
    key = f"privacy.error.{error.code}"
    # An invalid value names its field first ("identities.email: ..."): the form's e-mail.
    if isinstance(error, InvalidValue) and error.message.startswith("identities.email:"):
        key = "privacy.error.invalid_email"
    return texts(key) if texts.has(key) else error.message


def _home(
    charter: Charter,
    brand: str,
    texts: PageTexts,
    error: str | None = None,
    status: int = 200,
    **form: str,
) -> HTMLResponse:
    return _render(
        charter,
        brand,
        "privacy_home.html.j2",
        texts,
        ("/privacy", {"brand": brand} if brand else {}),
        status,
        title=texts("privacy.home.title"),
        error=error,
        types=[
            (value, texts(f"privacy.type.{value}"), texts(f"privacy.type.{value}.hint"))
            for value in TYPES
        ],
        deadline_days=charter.manifest.policy.response_deadline_days,
        form={"type": "", "email": "", "details": "", "jurisdiction": "", **form},
    )


def _limit(request: Request, bucket: str, kind: str, value: str) -> RateLimited | None:
    """Count the call per address and per identity; the refusal, if any (nothing is done)."""
    try:
        hit_client(request, bucket)
        hit_identity(request, bucket, kind, value)
    except RateLimited as refused:
        return refused
    return None


def _too_many(texts: PageTexts, refused: RateLimited) -> str:
    minutes = max(1, round(refused.retry_after / 60))
    return texts(f"privacy.error.too_many.{'one' if minutes == 1 else 'other'}", n=minutes)


def _retry_after(response: HTMLResponse, refused: RateLimited) -> HTMLResponse:
    response.headers["Retry-After"] = str(refused.retry_after)
    return response


@router.get("", response_class=HTMLResponse)
def home(
    request: Request,
    brand: str = Query(default="", max_length=64),
    lang: str = Lang,
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    return _home(charter, brand, _texts(request, charter, brand, lang))


@router.post("/requests", response_class=HTMLResponse)
def file_request(
    request: Request,
    brand: str = Form(default="", max_length=64),
    type: str = Form(default="", max_length=32),
    email: str = Form(default="", max_length=320),
    details: str = Form(default="", max_length=4000),
    jurisdiction: str = Form(default="", max_length=16),
    lang: str = LangForm,
    charter: Charter = Depends(charter_of),
) -> Response:
    texts = _texts(request, charter, brand, lang)
    form = {"type": type, "email": email, "details": details, "jurisdiction": jurisdiction}
    refused = _limit(request, "request_intake", "email", email)
    if refused is not None:
        page = _home(charter, brand, texts, _too_many(texts, refused), 429, **form)
        return _retry_after(page, refused)
    if type not in TYPES:
        return _home(charter, brand, texts, texts("privacy.error.type"), 422, **form)
    try:
        received = charter.requests.submit(
            NewRequest(
                type=type,
                brand=brand,
                identities={"email": email},
                details={"message": details} if details.strip() else {},
                jurisdiction=jurisdiction or None,
                received_via="privacy_center",
                language=texts.language,
            )
        )
    except CharterError as error:
        return _home(charter, brand, texts, _message(texts, error), _status_for(error), **form)
    return _verify_page(charter, brand, texts, received.id, status=202, sent=True)


@router.get("/verify", response_class=HTMLResponse)
def confirm_page(
    request: Request,
    request_id: str = Query(alias="request", pattern=r"^[0-9a-f-]{36}$"),
    code: str = Query(default="", max_length=12, pattern=r"^[0-9]*$"),
    lang: str = Lang,
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    brand, _, texts = _of_request(request, charter, request_id, lang)
    return _verify_page(charter, brand, texts, request_id, code=code)


@router.post("/requests/{request_id}/verify", response_class=HTMLResponse)
def verify(
    request: Request,
    request_id: str = RequestId,
    code: str = Form(default="", max_length=12),
    lang: str = LangForm,
    charter: Charter = Depends(charter_of),
) -> Response:
    brand, filed, texts = _of_request(request, charter, request_id, lang)
    refused = _limit(request, "request_verify", "request", request_id)
    if refused is not None:
        page = _verify_page(
            charter, brand, texts, request_id, status=429, error=_too_many(texts, refused)
        )
        return _retry_after(page, refused)
    try:
        verified = charter.requests.verify(request_id, code)
    except CharterError as error:
        return _verify_page(
            charter,
            brand,
            texts,
            request_id,
            status=_status_for(error),
            error=_message(texts, error),
        )
    worker = request.app.state.worker
    if worker is not None:
        worker.wake()
    # The page's language goes on to the status page, which by itself is in the request's.
    own = _texts(request, charter, brand, "", filed).language
    chosen = "" if own == texts.language else f"?{urlencode({'lang': texts.language})}"
    response = RedirectResponse(f"/privacy/requests/{request_id}{chosen}", status_code=303)
    response.set_cookie(
        COOKIE,
        verified.access_token,
        max_age=60 * 60 * 24 * 90,
        path=f"/privacy/requests/{request_id}",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
    return response


@router.post("/requests/{request_id}/code", response_class=HTMLResponse)
def resend(
    request: Request,
    request_id: str = RequestId,
    lang: str = LangForm,
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    brand, _, texts = _of_request(request, charter, request_id, lang)
    refused = _limit(request, "request_code", "request", request_id)
    if refused is not None:
        page = _verify_page(
            charter, brand, texts, request_id, status=429, error=_too_many(texts, refused)
        )
        return _retry_after(page, refused)
    try:
        charter.requests.resend_code(request_id)
    except CharterError as error:
        return _verify_page(
            charter,
            brand,
            texts,
            request_id,
            status=_status_for(error),
            error=_message(texts, error),
        )
    return _verify_page(charter, brand, texts, request_id, status=202, sent=True)


@router.get(
    "/requests/{request_id}",
    response_class=HTMLResponse,
    dependencies=[Depends(limited("request_status"))],
)
def status(
    request: Request,
    request_id: str = RequestId,
    lang: str = Lang,
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    brand, _, texts = _of_request(request, charter, request_id, lang)
    try:
        charter.requests.authorise_person(request_id, request.cookies.get(COOKIE))
    except Unauthorized:
        return _verify_page(
            charter,
            brand,
            texts,
            request_id,
            status=401,
            error=texts("privacy.error.elsewhere"),
        )
    if gpc_signalled(request.headers.get("sec-gpc")):
        # The verified person's browser sends Global Privacy Control: their opt-out of sale
        # and sharing (CCPA regs. 7025), recorded once; the access token, not a mail scanner's
        # fetch, brought them here.
        charter.preferences.opt_out_for_request(request_id)
    view = charter.requests.view(request_id)
    package = charter.requests.package_expiry(request_id)
    return _render(
        charter,
        view.brand,
        "privacy_status.html.j2",
        texts,
        (f"/privacy/requests/{request_id}", {}),
        title=texts("privacy.status.title"),
        view=view,
        type_label=texts(f"privacy.type.{view.type}") if view.type in TYPES else view.type,
        status_label=texts(f"privacy.status.{view.status}"),
        history=_history(texts, view),
        package_url=f"/privacy/requests/{request_id}/package" if package else None,
        package_expires=package,
        authority_url=charter.manifest.policy.supervisory_authority_url,
    )


@router.get("/requests/{request_id}/package", dependencies=[Depends(limited("request_status"))])
def package(
    request: Request, request_id: str = RequestId, charter: Charter = Depends(charter_of)
) -> Response:
    charter.requests.authorise_person(request_id, request.cookies.get(COOKIE))
    return package_download(charter, request_id)


def _verify_page(
    charter: Charter,
    brand: str,
    texts: PageTexts,
    request_id: str,
    *,
    status: int = 200,
    sent: bool = False,
    error: str | None = None,
    code: str = "",
) -> HTMLResponse:
    """The page that asks for the code: after filing ("check your e-mail") or to confirm."""
    query = {"request": request_id, **({"code": code} if code else {})}
    return _render(
        charter,
        brand,
        "privacy_verify.html.j2",
        texts,
        ("/privacy/verify", query),
        status,
        title=texts("privacy.verify.title.sent" if sent else "privacy.verify.title"),
        error=error,
        sent=sent,
        request_id=request_id,
        code=code,
    )


def _history(texts: PageTexts, view: RequestView) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = []
    for entry in view.history:
        if entry.kind in SKIPPED_HISTORY:
            continue
        key = f"privacy.history.{entry.kind}"
        text = texts(key) if texts.has(key) else entry.kind.replace("_", " ")
        if not shown or shown[-1]["text"] != text:
            shown.append({"at": entry.at, "text": text})
    return shown


def _of_request(
    request: Request, charter: Charter, request_id: str, chosen: str
) -> tuple[str, str | None, PageTexts]:
    """The brand a page about a request is in the look of, the language the request was
    filed in, and the page's texts (in that language, unless the person chose another)."""
    try:
        brand, filed = charter.requests.filed_as(request_id)
    except NotFound:
        brand, filed = "", None  # the first brand's look; the action itself answers 404
    return brand, filed, _texts(request, charter, brand, chosen, filed)
