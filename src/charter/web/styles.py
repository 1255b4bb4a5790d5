"""The pages' stylesheets: ``GET /assets/{name}.css``.

They live in ``static/css`` rather than in ``<style>`` blocks so that the pages' CSP allows no
inline style (``charter.web.security``). Served like the banner's script: read once, with a
strong ETag of their content, so that a browser revalidates them cheaply (304).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from charter.domain.errors import NotFound
from charter.web.banner import asset, serve

router = APIRouter(include_in_schema=False)
CSS = "text/css; charset=utf-8"
STYLESHEETS = frozenset({"console.css", "privacy.css", "unsubscribe.css"})


@router.get("/assets/{name}")
def stylesheet(name: str, request: Request) -> Response:
    if name not in STYLESHEETS:
        raise NotFound(f"no stylesheet named '{name}'")
    return serve(request, asset(f"css/{name}", CSS))
