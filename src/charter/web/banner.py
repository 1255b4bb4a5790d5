"""The cookie banner's script, ``/cookie-banner.js``, and a demo brand page that embeds it.

``GET /cookie-banner.js`` serves ``static/cookie-banner.js`` (read once) with a strong ETag of
its content, so that brand sites revalidate it cheaply (304) once the hour of caching is over.

``GET /demo/{brand}`` is a plausible page of one brand with the banner and four gated example
scripts (functional, analytics, advertising, social: ``/demo/assets/*.js``), each of which sets
one of its category's cookies from the manifest and says on the page that it ran; a social
widget frame loaded only with consent; and a footer link reopening the banner. The page loads
nothing from elsewhere, and its Content-Security-Policy has no ``'unsafe-inline'``: the banner
works under a strict CSP. ``?lang=de`` shows the banner in another offered language.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse

from charter.domain.errors import NotFound
from charter.facade import Charter
from charter.web.pages import charter_of, environment

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
SCRIPT = "cookie-banner.js"
JAVASCRIPT = "application/javascript; charset=utf-8"
DEMO_ASSETS = {
    "demo.js": JAVASCRIPT,
    "functional.js": JAVASCRIPT,
    "analytics.js": JAVASCRIPT,
    "advertising.js": JAVASCRIPT,
    "social.js": JAVASCRIPT,
    "demo.css": "text/css; charset=utf-8",
    "social-widget.html": "text/html; charset=utf-8",
}
CACHE = "public, max-age=3600"
DEMO_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
# The social widget is framed by the demo page, so only it may frame the widget.
WIDGET_CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'self'; base-uri 'none'"


@dataclass(frozen=True)
class Asset:
    body: bytes
    etag: str
    media_type: str


@cache
def asset(relative: str, media_type: str) -> Asset:
    """A static file, read once, with the strong ETag of its content."""
    body = (STATIC / relative).read_bytes()
    return Asset(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', media_type)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: If-None-Match compares weakly, so a W/ prefix does not matter."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def serve(request: Request, item: Asset, extra: dict[str, str] | None = None) -> Response:
    headers = {
        "ETag": item.etag,
        "Cache-Control": CACHE,
        "X-Content-Type-Options": "nosniff",
        **(extra or {}),
    }
    if _matches(request.headers.get("if-none-match"), item.etag):
        return Response(status_code=304, headers=headers)
    return Response(item.body, media_type=item.media_type, headers=headers)


@router.api_route("/cookie-banner.js", methods=["GET", "HEAD"])
def cookie_banner_script(request: Request) -> Response:
    # Brand sites on other origins load it; those isolating themselves (COEP) need this header.
    return serve(
        request, asset(SCRIPT, JAVASCRIPT), {"Cross-Origin-Resource-Policy": "cross-origin"}
    )


@router.get("/demo/assets/{name}")
def demo_asset(name: str, request: Request) -> Response:
    media_type = DEMO_ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no demo asset named '{name}'")
    extra = {"Content-Security-Policy": WIDGET_CSP} if name.endswith(".html") else None
    return serve(request, asset(f"demo/{name}", media_type), extra)


@router.get("/demo/{brand}", response_class=HTMLResponse)
def demo_page(
    brand: str,
    lang: str | None = Query(default=None, max_length=8),
    charter: Charter = Depends(charter_of),
) -> HTMLResponse:
    manifest = charter.manifest
    if brand not in manifest.brands:
        raise NotFound(f"no brand '{brand}' in the manifest", code="unknown_brand")
    offered = manifest.cookie_banner.languages
    html = (
        environment()
        .get_template("demo.html.j2")
        .render(
            brand=brand,
            brand_name=manifest.brands[brand].name,
            banner_lang=lang if lang in offered else None,
            tcf=manifest.brands[brand].tcf is not None,
        )
    )
    return HTMLResponse(html, headers=DEMO_HEADERS)
