"""Public pages of the policy's versions: the list, each version as published, the diff between
two, and the consent a policy notice asks for (``charter.services.policy_versions``).

``/policy/versions`` lists what was published and when it takes effect; ``/policy/versions/V``
renders version V's own manifest text, so a superseded promise stays readable (Art. 5(2):
what people were told is evidence); ``/policy/diff?from=V1&to=V2`` says each change in a
sentence, marked material or not. ``/policy/consent?token=...`` (the link in a notice) only
shows what is asked, as mail scanners fetch links; its form posts the token back, which is what
protects the post from other sites, and agreeing is rate limited per address and per person.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse

from charter.domain.errors import CharterError, Conflict, NotFound, RateLimited
from charter.facade import Charter
from charter.manifest.render import policy_styles, render_policy_html
from charter.web.pages import charter_of, environment
from charter.web.ratelimit import hit_client, hit_identity
from charter.web.security import content_security_policy, sha256_source

router = APIRouter(prefix="/policy", include_in_schema=False)
Version = Path(max_length=64)
_VERSION = Query(default="", max_length=64)
_TOKEN_LENGTH = 1024


@cache
def _csp() -> str:
    # The rendered policy keeps its CSS inline (one self-contained file): allowed by hash.
    return content_security_policy(style_src=[sha256_source(s) for s in policy_styles()])


def _page(
    charter: Charter, template: str, title: str, status: int = 200, **context: Any
) -> HTMLResponse:
    policy = charter.manifest.policy
    html = (
        environment()
        .get_template(template)
        .render(
            title=title,
            brand_name=policy.controller.name,
            policy_url="/policy",
            contact_email=(policy.dpo or policy.controller).email,
            lang="en",
            **context,
        )
    )
    # The consent pages carry a capability (the token): keep them out of caches.
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _failed(charter: Charter, error: CharterError, title: str) -> HTMLResponse:
    status = (
        404
        if isinstance(error, NotFound)
        else 409
        if isinstance(error, Conflict)
        else 429
        if isinstance(error, RateLimited)
        else 422
    )
    response = _page(charter, "policy_message.html.j2", title, status, error=error.message)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@router.get("/versions", response_class=HTMLResponse)
def versions(charter: Charter = Depends(charter_of)) -> HTMLResponse:
    return _page(
        charter,
        "policy_versions.html.j2",
        "Versions of our privacy policy",
        versions=charter.policy_versions.versions(),
    )


@router.get("/versions/{version}", response_class=HTMLResponse)
def version(
    version: str = Version,
    brand: str | None = Query(default=None, max_length=64),
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    try:
        manifest, _ = charter.policy_versions.manifest_of(version)
        html = render_policy_html(manifest, brand)
    except CharterError as error:
        return _failed(charter, error, "No such version")
    return HTMLResponse(html, headers={"Content-Security-Policy": _csp()})


@router.get("/diff", response_class=HTMLResponse)
def diff(
    old: str = Query(default="", alias="from", max_length=64),
    new: str = Query(default="", alias="to", max_length=64),
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    title = f"Changes from version {old} to version {new}"
    if not old or not new:
        return _page(
            charter,
            "policy_message.html.j2",
            "Changes between two versions",
            422,
            error="Say which versions to compare: /policy/diff?from=VERSION&to=VERSION.",
        )
    try:
        changes = charter.policy_versions.diff(old, new)
        effective_on = charter.policy_versions.view(new).effective_on
    except CharterError as error:
        return _failed(charter, error, title)
    return _page(
        charter,
        "policy_diff.html.j2",
        title,
        old=old,
        new=new,
        effective_on=effective_on,
        material=[c for c in changes if c.material],
        other=[c for c in changes if not c.material],
    )


@router.get("/consent", response_class=HTMLResponse)
def consent_page(
    token: str = Query(default="", max_length=_TOKEN_LENGTH),
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    try:
        ask = charter.policy_versions.consent.ask(token)
    except CharterError as error:
        return _failed(charter, error, "Your consent")
    return _page(
        charter, "policy_consent.html.j2", f"Your consent: {ask.purpose_name}", ask=ask, token=token
    )


@router.post("/consent", response_class=HTMLResponse)
def consent_given(
    request: Request,
    token: str = Form(default="", max_length=_TOKEN_LENGTH),
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    consent = charter.policy_versions.consent
    try:
        hit_client(request, "policy_consent")
        ask = consent.ask(token)
        hit_identity(request, "policy_consent", "subject", ask.subject_id)
        consent.give(token)
    except CharterError as error:
        return _failed(charter, error, "Your consent")
    return _page(
        charter,
        "policy_consent.html.j2",
        f"Your consent: {ask.purpose_name}",
        ask=ask,
        done=True,
    )
