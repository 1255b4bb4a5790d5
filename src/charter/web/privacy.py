"""The privacy center: ``/privacy`` (per brand: ``/privacy?brand=akkord_pro``).

A person files a request with a plain form, confirms it with the code sent by e-mail, and then
follows it (and downloads their data) on a status page. Works without JavaScript. The link in
the e-mail only opens a confirmation page: mail scanners fetch links, and a GET must change
nothing. After verification the access token is kept in an HttpOnly cookie limited to that
request's pages, so it never appears in a URL.

Filing, confirming and asking for a new code are rate limited like the API's calls, sharing
their counts (per client address, and per e-mail or request); a refused form is shown again
with the reason, status 429 and ``Retry-After``, and nothing is recorded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from charter.domain.cookie_banner import gpc_signalled
from charter.domain.errors import CharterError, NotFound, RateLimited, Unauthorized
from charter.domain.requests import RequestStatus, RequestType
from charter.facade import Charter
from charter.services.request_reading import RequestView
from charter.services.requests import NewRequest
from charter.web.pages import charter_of, environment, package_download
from charter.web.ratelimit import hit_client, hit_identity, limited

router = APIRouter(prefix="/privacy", include_in_schema=False)
RequestId = Path(pattern=r"^[0-9a-f-]{36}$")
COOKIE = "charter_request"

TYPES = [
    (
        RequestType.ACCESS,
        "Send me a copy of my data",
        "What we hold about you, why, where it came from and who received it.",
    ),
    (
        RequestType.PORTABILITY,
        "Give me my data to take elsewhere",
        "The same data in a machine-readable file.",
    ),
    (
        RequestType.RECTIFICATION,
        "Correct my data",
        "Tell us below what is wrong and what is right.",
    ),
    (
        RequestType.ERASURE,
        "Delete my data",
        "We delete what we may; what the law makes us keep (such as invoices) we keep "
        "only for that.",
    ),
    (
        RequestType.RESTRICTION,
        "Stop using my data for now",
        "We keep it stored but use it for nothing else, for example while you contest it.",
    ),
    (
        RequestType.OBJECTION,
        "Object to a use of my data",
        "Such as marketing or analysis; say which below, or we stop all marketing.",
    ),
    (
        RequestType.WITHDRAW_CONSENT,
        "Withdraw my consent",
        "To e-mails, surveys or anything else you agreed to; say which below, or we withdraw all.",
    ),
]
_TYPE_LABEL = {t.value: label for t, label, _ in TYPES}
_STATUS = {
    RequestStatus.AWAITING_VERIFICATION: (
        "We are waiting for you to confirm the request with the code we sent by e-mail."
    ),
    RequestStatus.VERIFIED: "Confirmed. We are working on it.",
    RequestStatus.AWAITING_APPROVAL: "Confirmed. Our privacy team is reviewing it.",
    RequestStatus.IN_PROGRESS: "We are carrying it out.",
    RequestStatus.COMPLETED: "Done.",
    RequestStatus.REJECTED: "Closed without being carried out; we wrote to you why.",
}
_HISTORY = {
    "received": "We received your request.",
    "message_sent": "We sent you an e-mail.",
    "code_sent": "We sent you a new code.",
    "verified": "You confirmed the request.",
    "approved": "Our privacy team approved it.",
    "started": "We started carrying it out.",
    "step_done": "One of our systems was done.",
    "awaiting_staff": "A step is being done by hand by our staff.",
    "extended": "We extended the deadline and told you why.",
    "completed": "Your request is complete.",
    "rejected": "We closed the request and told you why.",
    "reminder": None,
}


def _render(
    charter: Charter, brand: str, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    manifest = charter.manifest
    brand = brand if brand in manifest.brands else next(iter(manifest.brands))
    html = (
        environment()
        .get_template(template)
        .render(
            brand=brand,
            brand_name=manifest.brands[brand].name,
            policy_url=f"/policy?brand={quote(brand)}",
            contact_email=(manifest.policy.dpo or manifest.policy.controller).email,
            lang=manifest.brands[brand].default_language,
            **context,
        )
    )
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(html, status_code=status, headers=headers)


def _status_for(error: CharterError) -> int:
    if isinstance(error, RateLimited):
        return 429
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Unauthorized):
        return 401
    return 422


def _home(
    charter: Charter, brand: str, error: str | None = None, status: int = 200, **form: str
) -> HTMLResponse:
    return _render(
        charter,
        brand,
        "privacy_home.html.j2",
        status,
        title="Your privacy choices",
        error=error,
        types=[(t.value, label, hint) for t, label, hint in TYPES],
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


def _too_many(refused: RateLimited) -> str:
    minutes = max(1, round(refused.retry_after / 60))
    wait = "a minute" if minutes == 1 else f"{minutes} minutes"
    return f"Too many tries: please try again in {wait}."


def _retry_after(response: HTMLResponse, refused: RateLimited) -> HTMLResponse:
    response.headers["Retry-After"] = str(refused.retry_after)
    return response


@router.get("", response_class=HTMLResponse)
def home(
    brand: str = Query(default="", max_length=64), charter: Charter = Depends(charter_of)
) -> HTMLResponse:
    return _home(charter, brand)


@router.post("/requests", response_class=HTMLResponse)
def file_request(
    request: Request,
    brand: str = Form(default="", max_length=64),
    type: str = Form(default="", max_length=32),
    email: str = Form(default="", max_length=320),
    details: str = Form(default="", max_length=4000),
    jurisdiction: str = Form(default="", max_length=16),
    charter: Charter = Depends(charter_of),
) -> Response:
    form = {"type": type, "email": email, "details": details, "jurisdiction": jurisdiction}
    refused = _limit(request, "request_intake", "email", email)
    if refused is not None:
        return _retry_after(_home(charter, brand, _too_many(refused), 429, **form), refused)
    if type not in _TYPE_LABEL:
        return _home(charter, brand, "Choose what you would like us to do.", 422, **form)
    try:
        received = charter.requests.submit(
            NewRequest(
                type=type,
                brand=brand,
                identities={"email": email},
                details={"message": details} if details.strip() else {},
                jurisdiction=jurisdiction or None,
                received_via="privacy_center",
            )
        )
    except CharterError as error:
        return _home(charter, brand, error.message, _status_for(error), **form)
    return _verify_page(
        charter,
        brand,
        received.id,
        status=202,
        sent=True,
    )


@router.get("/verify", response_class=HTMLResponse)
def confirm_page(
    request_id: str = Query(alias="request", pattern=r"^[0-9a-f-]{36}$"),
    code: str = Query(default="", max_length=12, pattern=r"^[0-9]*$"),
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    brand = _brand_of(charter, request_id)
    return _verify_page(
        charter,
        brand,
        request_id,
        code=code,
    )


@router.post("/requests/{request_id}/verify", response_class=HTMLResponse)
def verify(
    request: Request,
    request_id: str = RequestId,
    code: str = Form(default="", max_length=12),
    charter: Charter = Depends(charter_of),
) -> Response:
    brand = _brand_of(charter, request_id)
    refused = _limit(request, "request_verify", "request", request_id)
    if refused is not None:
        page = _verify_page(charter, brand, request_id, status=429, error=_too_many(refused))
        return _retry_after(page, refused)
    try:
        verified = charter.requests.verify(request_id, code)
    except CharterError as error:
        return _verify_page(
            charter,
            brand,
            request_id,
            status=_status_for(error),
            error=error.message,
        )
    worker = request.app.state.worker
    if worker is not None:
        worker.wake()
    response = RedirectResponse(f"/privacy/requests/{request_id}", status_code=303)
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
    request: Request, request_id: str = RequestId, charter: Charter = Depends(charter_of)
) -> HTMLResponse:
    brand = _brand_of(charter, request_id)
    refused = _limit(request, "request_code", "request", request_id)
    if refused is not None:
        page = _verify_page(charter, brand, request_id, status=429, error=_too_many(refused))
        return _retry_after(page, refused)
    try:
        charter.requests.resend_code(request_id)
    except CharterError as error:
        return _verify_page(
            charter,
            brand,
            request_id,
            status=_status_for(error),
            error=error.message,
        )
    return _verify_page(
        charter,
        brand,
        request_id,
        status=202,
        sent=True,
    )


@router.get(
    "/requests/{request_id}",
    response_class=HTMLResponse,
    dependencies=[Depends(limited("request_status"))],
)
def status(
    request: Request, request_id: str = RequestId, charter: Charter = Depends(charter_of)
) -> HTMLResponse:
    try:
        charter.requests.authorise_person(request_id, request.cookies.get(COOKIE))
    except Unauthorized:
        brand = _brand_of(charter, request_id)
        return _verify_page(
            charter,
            brand,
            request_id,
            status=401,
            error=(
                "Open this page from the browser in which you confirmed the request, "
                "or confirm it again with a new code."
            ),
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
        title="Your request",
        view=view,
        type_label=_TYPE_LABEL.get(view.type, view.type),
        status_label=_STATUS[RequestStatus(view.status)],
        history=_history(view),
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
    request_id: str,
    *,
    status: int = 200,
    sent: bool = False,
    error: str | None = None,
    code: str = "",
) -> HTMLResponse:
    """The page that asks for the code: after filing ("check your e-mail") or to confirm."""
    return _render(
        charter,
        brand,
        "privacy_verify.html.j2",
        status,
        title="Check your e-mail" if sent else "Confirm your request",
        error=error,
        sent=sent,
        request_id=request_id,
        code=code,
    )


def _history(view: RequestView) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = []
    for entry in view.history:
        text = _HISTORY.get(entry.kind, entry.kind.replace("_", " "))
        if text is not None and (not shown or shown[-1]["text"] != text):
            shown.append({"at": entry.at, "text": text})
    return shown


def _brand_of(charter: Charter, request_id: str) -> str:
    try:
        return charter.requests.brand_of(request_id)
    except NotFound:
        return ""  # the first brand's look; the action itself answers 404
