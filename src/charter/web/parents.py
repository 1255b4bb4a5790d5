"""A parent's link: ``/parental-consent/{id}?token=...`` (see ``charter.services.children``).

The page shows what the parent is asked, and later their child's data; the forms post back with
the link's token (which is also what protects them against cross-site posts: another site
cannot know it). The GET changes nothing, as mail scanners fetch links. Posts are rate limited
per client address and per consent, and a wrong token and an unknown id get the same 404.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from charter.domain.errors import CharterError, InvalidValue, NotFound, RateLimited
from charter.domain.requests import RequestStatus
from charter.facade import Charter
from charter.services.children import ParentPage
from charter.web.pages import charter_of, environment, sentence
from charter.web.ratelimit import hit_client, hit_identity

router = APIRouter(prefix="/parental-consent", include_in_schema=False)
ConsentId = Path(pattern=r"^[0-9a-f-]{36}$")
Token = Query(default="", max_length=100)
_DONE = {
    "confirmed": "Thank you: your consent is recorded.",
    "withdrawn": "Your consent is withdrawn.",
}
_ACTIONS = ("confirm", "refuse", "withdraw", "delete")


def _render(
    charter: Charter,
    status: int = 200,
    *,
    page: ParentPage | None = None,
    brand: str | None = None,
    **context: Any,
) -> HTMLResponse:
    manifest = charter.manifest
    brand = page.brand if page else brand or next(iter(manifest.brands))
    html = (
        environment()
        .get_template("parent_consent.html.j2")
        .render(
            page=page,
            brand_name=manifest.brands[brand].name,
            title=page.notice.title if page else "Your consent for your child",
            policy_url=f"/policy?brand={brand}",
            contact_email=(manifest.policy.dpo or manifest.policy.controller).email,
            lang=manifest.brands[brand].default_language,
            **context,
        )
    )
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(html, status_code=status, headers=headers)


def _failed(charter: Charter, error: CharterError, consent_id: str, token: str) -> HTMLResponse:
    status = 429 if isinstance(error, RateLimited) else 404 if isinstance(error, NotFound) else 422
    page = None
    if status != 404:
        try:
            page = charter.parents.page(consent_id, token)
        except CharterError:
            page = None
    response = _render(charter, status, page=page, token=token, error=_sentence(error.message))
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _sentence(message: str) -> str:
    return sentence(message.removeprefix("parental_consent: "))


@router.get("/{consent_id}", response_class=HTMLResponse)
def show(
    consent_id: str = ConsentId,
    token: str = Token,
    done: str = Query(default="", max_length=16),
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    try:
        page = charter.parents.page(consent_id, token)
    except CharterError as error:
        return _failed(charter, error, consent_id, token)
    return _render(charter, page=page, token=token, done=_DONE.get(done))


@router.post("/{consent_id}", response_class=HTMLResponse)
def act(
    request: Request,
    consent_id: str = ConsentId,
    token: str = Form(default="", max_length=100),
    action: str = Form(default="", max_length=16),
    consents: list[str] = Form(default=[], max_length=50),
    guardian: str = Form(default="", max_length=8),
    sure: str = Form(default="", max_length=8),
    charter: Charter = Depends(charter_of),
) -> Response:
    parents = charter.parents
    try:
        hit_client(request, "parental_consent")
        hit_identity(request, "parental_consent", "consent", consent_id)
        if action not in _ACTIONS:
            raise InvalidValue(f"action: one of {', '.join(_ACTIONS)}")
        if action == "confirm":
            parents.confirm(consent_id, token, guardian=guardian == "yes", allowed=consents)
        elif action == "withdraw":
            parents.withdraw(consent_id, token)
        elif action == "refuse":
            brand = parents.page(consent_id, token).brand
            parents.refuse(consent_id, token)
            return _render(
                charter,
                brand=brand,
                done="You did not agree. We deleted your address, and keep nothing of your "
                "child's.",
            )
        else:
            if sure != "yes":
                raise InvalidValue("tick the box to confirm that everything is to be deleted")
            brand = parents.page(consent_id, token).brand
            view = charter.delete_child_data(consent_id, token)
            finished = view.status == RequestStatus.COMPLETED
            text = (
                "done: your child's account is cancelled and their data deleted. We sent you a "
                "confirmation."
                if finished
                else "under way: a system that our staff update by hand still has to be done; "
                f"we will write to you when it is, by {view.due_at:%d %B %Y} at the latest."
            )
            return _render(
                charter,
                brand=brand,
                done="Your child's data is deleted." if finished else "Deletion started.",
                outcome={"id": view.id, "text": text},
            )
    except CharterError as error:
        return _failed(charter, error, consent_id, token)
    done = {"confirm": "confirmed", "withdraw": "withdrawn"}[action]
    return RedirectResponse(
        f"/parental-consent/{consent_id}?token={quote(token)}&done={done}", status_code=303
    )
