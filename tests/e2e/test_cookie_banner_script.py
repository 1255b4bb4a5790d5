"""The cookie banner's script and demo page over HTTP, in process (no browser)."""

from __future__ import annotations

import gzip
import re

from fastapi.testclient import TestClient


def test_the_script_is_small_cached_and_revalidated(client: TestClient) -> None:
    reply = client.get("/cookie-banner.js")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/javascript; charset=utf-8"
    assert reply.headers["cache-control"] == "public, max-age=3600"
    assert reply.headers["x-content-type-options"] == "nosniff"
    etag = reply.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong: no W/
    body = reply.content
    assert len(gzip.compress(body, 9)) < 15 * 1024
    assert body.lstrip().startswith(b"/*!")
    assert b"'use strict'" in body
    for forbidden in (b"eval(", b"new Function", b"innerHTML", b"document.write"):
        assert forbidden not in body, forbidden

    for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        again = client.get("/cookie-banner.js", headers={"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.content == b""
        assert again.headers["etag"] == etag
    changed = client.get("/cookie-banner.js", headers={"If-None-Match": '"stale"'})
    assert changed.status_code == 200 and changed.content == body


def test_demo_page_of_a_brand(client: TestClient) -> None:
    reply = client.get("/demo/acme")
    assert reply.status_code == 200
    html = reply.text
    assert '<html lang="en">' in html
    assert "Acme Audio" in html
    assert '<script src="/cookie-banner.js" data-brand="acme"></script>' in html
    for category in ("functional", "analytics", "advertising", "social"):
        assert (
            f'<script type="text/plain" data-charter-category="{category}" '
            f'src="/demo/assets/{category}.js"></script>'
        ) in html
    assert 'data-charter-action="open"' in html
    assert 'href="/policy?brand=acme"' in html and 'href="/privacy?brand=acme"' in html
    assert "<main" in html and "<h1" in html and "<footer" in html
    csp = reply.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert reply.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert "style=" not in html and "<style" not in html  # the CSP would block them
    assert re.search(r"<script>(?!</script>)", html) is None  # no inline script either

    german = client.get("/demo/acme", params={"lang": "de"}).text
    assert 'data-brand="acme" data-lang="de"' in german
    assert "data-lang" not in client.get("/demo/acme", params={"lang": "xx"}).text


def test_demo_assets(client: TestClient) -> None:
    for name, kind in (
        ("analytics.js", "application/javascript"),
        ("demo.js", "application/javascript"),
        ("demo.css", "text/css"),
        ("social-widget.html", "text/html"),
    ):
        reply = client.get(f"/demo/assets/{name}")
        assert reply.status_code == 200, name
        assert reply.headers["content-type"].startswith(kind)
        assert reply.headers["x-content-type-options"] == "nosniff"
    for category, cookie in (
        ("analytics", "_tw_id"),
        ("advertising", "adr_uid"),
        ("social", "cb_browser"),
        ("functional", "rmg_lang"),
    ):
        script = client.get(f"/demo/assets/{category}.js").text
        assert f"document.cookie = '{cookie}=" in script
        assert f"report('{category}'" in script
    missing = client.get("/demo/assets/secret.py")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert client.get("/demo/assets/..%2Fbanner.py").status_code == 404


def test_unknown_brand_is_a_json_404(client: TestClient) -> None:
    reply = client.get("/demo/unknown")
    assert reply.status_code == 404
    assert reply.headers["content-type"] == "application/json"
    assert reply.json()["error"]["code"] == "unknown_brand"
    assert "unknown" in reply.json()["error"]["message"]


def test_not_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/demo", "/cookie-banner.js"))]
