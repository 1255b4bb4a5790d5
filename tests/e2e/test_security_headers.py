"""Security headers on every HTML page: every GET route of the app (from its router) is called as
an anonymous visitor, a person who confirmed a request, an administrator and a role the console
refuses, so that pages, refusals and error pages are all seen; each ``text/html`` answer must
carry a CSP without ``'unsafe-inline'`` that forbids framing, a referrer policy and ``nosniff``,
and HSTS exactly when the request came over https."""

from __future__ import annotations

import datetime as dt
import email
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response

from charter.api import create_app
from charter.config import Settings
from charter.facade import Charter
from charter.manifest.render import policy_styles, render_policy_html
from charter.services.breaches import NewBreach
from charter.services.disclosure_inputs import NewDisclosure
from charter.services.policy_consent import SCOPE as POLICY_CONSENT
from charter.services.requests import NewRequest
from charter.web.security import HSTS, sha256_source

PASSWORD = "correct horse battery"
# The demo's social widget is framed by the demo page itself (same origin), and nothing else.
FRAMED_BY_ITS_OWN_ORIGIN = {"/demo/assets/social-widget.html"}


@dataclass
class Site:
    app: FastAPI
    charter: Charter
    request_id: str
    access_token: str
    admin: str
    service: str
    unsubscribe_token: str
    parent_link: str
    breach_id: str = ""
    disclosure_id: str = ""
    policy_consent_token: str = ""

    def visitors(self, base_url: str) -> dict[str, TestClient]:
        def client(**cookies: str) -> TestClient:
            made = TestClient(self.app, base_url=base_url, follow_redirects=False)
            for name, value in cookies.items():
                made.cookies.set(name, value)
            return made

        return {
            "anonymous": client(),
            "person": client(charter_request=self.access_token),
            "admin": client(charter_staff=self.admin),
            "service": client(charter_staff=self.service),
        }

    @property
    def version(self) -> str:
        return self.charter.manifest.policy.version

    def url(self, path: str) -> str:
        samples = {
            "request_id": self.request_id,
            "brand": next(iter(self.charter.manifest.brands)),
            "event_id": "1",
            "consent_id": self.parent_link.split("/")[-1].split("?")[0],
            "breach_id": self.breach_id,
            "disclosure_id": self.disclosure_id,
            "version": self.version,
        }
        url = re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), m.group(0)), path)
        queries = {
            "/v1/unsubscribe": f"?token={self.unsubscribe_token}",
            "/privacy/verify": f"?request={self.request_id}",
            "/parental-consent/{consent_id}": "?" + self.parent_link.split("?")[1],
            "/policy/diff": f"?from={self.version}&to={self.version}",
            "/policy/consent": f"?token={self.policy_consent_token}",
        }
        return url + queries.get(path, "")


def code_for(outbox: Path, request_id: str) -> str:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        body = email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
        found = re.search(r"^\s+(\d{6})$", body, re.M)
        if request_id in body and found:
            return found.group(1)
    raise AssertionError(f"no code for {request_id}")


@pytest.fixture
def site(settings: Settings, charter: Charter) -> Site:
    charter.staff.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    sessions = {}
    for role in ("admin", "service"):
        who = f"{role}@example.org"
        charter.staff.create_user(who, role, role, PASSWORD)
        sessions[role] = charter.staff.login(who, PASSWORD).token
    request_id = charter.requests.submit(
        NewRequest("access", "acme", {"email": "ann@example.org"})
    ).id
    verified = charter.requests.verify(request_id, code_for(settings.outbox_dir, request_id))
    charter.submit(
        "support",
        brand="acme",
        identities={"email": "kid@example.org"},
        data={"date_of_birth": "2015-06-01"},
        parent={"email": "parent@example.org"},
    )
    charter.policy_versions.publish_running(actor="test")  # for /policy/versions/{version}
    reader = charter.submit("marketing_signup", brand="acme", identities={"email": "r@example.org"})
    return Site(
        create_app(settings, charter=charter),
        charter,
        request_id,
        verified.access_token,
        sessions["admin"],
        sessions["service"],
        charter.preferences.unsubscribe_token(str(uuid.uuid4()), "acme", "email"),
        parent_link_in(settings.outbox_dir),
        breach_id=charter.breaches.record(
            NewBreach(
                title="Backup exposed",
                description="A backup was readable.",
                aware_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
                systems=["charter", "shop"],
                categories=["user.contact"],
                risk="high_risk",
                risk_reasons="Addresses readable.",
                consequences="Phishing.",
                measures="Closed.",
            ),
            "test",
        ).id,
        disclosure_id=charter.disclosures.record(
            NewDisclosure(
                kind="processor_share",
                recipient="shop_host",
                categories=["user.name"],
                purposes=["order_fulfilment"],
            ),
            "test",
        ).id,
        policy_consent_token=charter.store.vault.sign(
            POLICY_CONSENT,
            charter.manifest.policy.version,
            reader.subject_id,  # type: ignore[union-attr]
            "marketing_email",
            "acme",
        ),
    )


def parent_link_in(outbox: Path) -> str:
    """The path and query of the link in the last mail to a parent."""
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        found = re.search(r"http://\S+(/parental-consent/\S+)", path.read_text())
        if found:
            return found.group(1)
    raise AssertionError("no mail to a parent")


def get_routes(app: FastAPI) -> list[tuple[str, bool]]:
    """Each GET path, and whether it declares an HTML answer."""
    return [
        (str(route.path), getattr(route, "response_class", None) is HTMLResponse)
        for route in iter_route_contexts(app.routes)
        if "GET" in (route.methods or ())
    ]


def walk(site: Site, base_url: str) -> Iterator[tuple[str, str, Response]]:
    """Every GET route as every visitor; the demo assets by each of their names."""
    visitors = site.visitors(base_url)
    for path, _ in get_routes(site.app):
        paths = [path]
        if path == "/demo/assets/{name}":
            paths = ["/demo/assets/demo.css", *FRAMED_BY_ITS_OWN_ORIGIN]
        if path == "/assets/{name}":
            paths = ["/assets/privacy.css"]
        if path == "/admin/requests/{request_id}":  # and its error page
            paths = [path, f"/admin/requests/{uuid.uuid4()}"]
        if path == "/admin/breaches/{breach_id}":  # and its error page
            paths = [path, f"/admin/breaches/{uuid.uuid4()}"]
        if path == "/parental-consent/{consent_id}":  # a parent's page, and a wrong link's
            paths = [path, f"/parental-consent/{uuid.uuid4()}"]
        for concrete in paths:
            for who, client in visitors.items():
                yield concrete, who, client.get(site.url(concrete))


def is_html(response: Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/html")


def test_every_html_page_carries_the_security_headers(site: Site) -> None:
    problems: list[str] = []
    html_paths: set[str] = set()
    statuses: set[int] = set()
    for path, who, answer in walk(site, "http://testserver"):
        assert answer.status_code < 500, (path, who, answer.text)
        assert answer.headers["x-content-type-options"] == "nosniff", (path, who)
        assert "strict-transport-security" not in answer.headers, (path, who)
        if not is_html(answer):
            continue
        html_paths.add(path)
        statuses.add(answer.status_code)
        where = f"{path} ({who}, {answer.status_code})"
        csp = answer.headers.get("content-security-policy", "")
        framing = "'self'" if path in FRAMED_BY_ITS_OWN_ORIGIN else "'none'"
        if not csp or "unsafe-inline" in csp or "unsafe-eval" in csp:
            problems.append(f"{where}: CSP {csp!r}")
        if f"frame-ancestors {framing}" not in csp:
            problems.append(f"{where}: framing {csp!r}")
        referrer = answer.headers.get("referrer-policy")
        if referrer not in ("no-referrer", "strict-origin-when-cross-origin"):
            problems.append(f"{where}: Referrer-Policy {referrer!r}")
        for block in re.findall(r"<style[^>]*>(.*?)</style>", answer.text, re.S):
            if sha256_source(block) not in csp:
                problems.append(f"{where}: an inline <style> its CSP does not allow")
        if re.search(r"<[^>]+\sstyle=", answer.text):
            problems.append(f"{where}: a style= attribute")
    assert problems == []
    declared = {path for path, html in get_routes(site.app) if html}
    ids = re.compile(
        r"/([0-9a-f-]{36}|\{request_id\}|\{consent_id\}|\{breach_id\}|\{disclosure_id\})(?=/|$)"
    )
    seen = {ids.sub("/{id}", p) for p in html_paths}
    declared = {ids.sub("/{id}", p) for p in declared}
    assert declared - seen - {"/demo/{brand}"} == set(), "HTML routes never answered a page"
    assert {"/demo/{brand}", "/policy", "/admin", "/privacy/requests/{id}"} <= declared
    assert {200, 401, 403, 404} <= statuses  # pages, and the refusal and error pages


def test_hsts_only_over_https(site: Site) -> None:
    for path, who, answer in walk(site, "https://testserver"):
        assert answer.headers.get("strict-transport-security") == HSTS, (path, who)
    plain = TestClient(site.app).get("/privacy")
    assert "strict-transport-security" not in plain.headers


def test_the_policy_page_allows_its_own_style_by_hash_only(site: Site) -> None:
    answer = TestClient(site.app).get("/policy")
    csp = answer.headers["content-security-policy"]
    (block,) = re.findall(r"<style>(.*?)</style>", answer.text, re.S)
    assert (block,) == policy_styles()
    assert f"style-src {sha256_source(block)};" in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # `charter policy render` keeps writing one self-contained file
    assert "<style>" in render_policy_html(site.charter.manifest)


def test_the_demo_page_keeps_its_own_stricter_policy(site: Site) -> None:
    answer = TestClient(site.app).get("/demo/acme")
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_the_pages_stylesheets_exist_and_are_revalidated_cheaply(site: Site) -> None:
    visitors = site.visitors("http://testserver")
    linked = set()
    for path, _, answer in walk(site, "http://testserver"):
        if is_html(answer):
            for href in re.findall(r'<link rel="stylesheet" href="([^"]+)"', answer.text):
                linked.add(urljoin(f"http://testserver{site.url(path)}", href))
    assert {
        "http://testserver/assets/console.css",
        "http://testserver/assets/privacy.css",
        "http://testserver/assets/unsubscribe.css",
    } <= linked
    for url in linked:
        sheet = visitors["anonymous"].get(url)
        assert sheet.status_code == 200, url
        assert sheet.headers["content-type"].startswith("text/css")
        etag = sheet.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)  # strong
        again = visitors["anonymous"].get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
    assert visitors["anonymous"].get("/assets/nothing.css").status_code == 404


def test_no_page_loads_code_from_another_host(site: Site) -> None:
    # Swagger UI and ReDoc load their code from a CDN: neither is served.
    assert TestClient(site.app).get("/docs").status_code == 404
    assert TestClient(site.app).get("/redoc").status_code == 404
