"""Every route of the app checks the permission table, or is public for a stated reason.

The routes come from the app's router, never from a list here, and the permission each needs is
read back from its dependencies (``charter.api.auth.Requirement`` for bearer tokens,
``charter.web.admin.ConsolePage`` for the console's session): a route added without a check is
neither public nor protected, and fails ``test_every_route_is_public_or_checked``. Then every
protected route is called anonymously and with a token (or a console session) of every role,
and must refuse exactly the roles that ``PERMISSIONS`` does not allow.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from starlette.routing import Route

from charter.api import create_app
from charter.api.auth import require
from charter.config import Settings
from charter.domain.permissions import PERMISSIONS, Permission, Role
from charter.facade import Charter

PASSWORD = "correct horse battery"

# (method, path) -> why anybody may call it without a staff or service credential.
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness probe for load balancers: 'ok' and the policy version",
    ("GET", "/openapi.json"): "the API's description",
    ("HEAD", "/openapi.json"): "the API's description",
    ("GET", "/policy"): "the public privacy policy",
    ("GET", "/policy/versions"): "the published versions of the policy, public information",
    ("GET", "/policy/versions/{version}"): "a published version of the policy, as published",
    ("GET", "/policy/diff"): "what changed between two published versions",
    ("GET", "/policy/consent"): "a policy notice's consent link (its token; changes nothing)",
    ("POST", "/policy/consent"): "consent given by a notice's signed link (rate limited)",
    ("GET", "/.well-known/gpc.json"): "the Global Privacy Control support statement",
    ("GET", "/v1/cookie-banner/{brand}"): "what the cookie banner shows, for any visitor",
    ("POST", "/v1/cookie-consent"): "a visitor's cookie choice (rate limited)",
    ("GET", "/cookie-banner.js"): "the banner script, loaded by the brands' sites",
    ("HEAD", "/cookie-banner.js"): "the banner script, loaded by the brands' sites",
    ("GET", "/demo/{brand}"): "the cookie banner demo page",
    ("GET", "/demo/assets/{name}"): "the demo page's scripts and styles",
    ("GET", "/assets/{name}"): "the pages' stylesheets",
    ("GET", "/v1/unsubscribe"): "unsubscribe by signed link (ePrivacy Art. 13(2); rate limited)",
    ("POST", "/v1/unsubscribe"): "RFC 8058 one-click unsubscribe by signed link (rate limited)",
    ("GET", "/v1/consents/receipts/{event_id}"): "a receipt by its signed link (or staff token)",
    ("POST", "/v1/requests"): "a person files a rights request (rate limited)",
    (
        "POST",
        "/v1/transfers/{recipient}/safeguard-requests",
    ): "a person asks for a copy of a transfer's safeguard, mailed to them (rate limited)",
    ("POST", "/v1/requests/{request_id}/verify"): "the person's code (rate limited)",
    ("POST", "/v1/requests/{request_id}/code"): "a new code to the address on file (rate limited)",
    ("GET", "/v1/requests/{request_id}"): "the person's own request by its access token",
    ("GET", "/v1/requests/{request_id}/package"): "the person's own data by its access token",
    ("GET", "/privacy"): "the privacy center",
    ("POST", "/privacy/requests"): "the privacy center's request form (rate limited)",
    ("GET", "/privacy/verify"): "the page that asks for the code",
    ("POST", "/privacy/requests/{request_id}/verify"): "the code form (rate limited)",
    ("POST", "/privacy/requests/{request_id}/code"): "a new code (rate limited)",
    ("GET", "/privacy/requests/{request_id}"): "the person's own request (access token cookie)",
    ("GET", "/privacy/requests/{request_id}/package"): "the person's own data (token cookie)",
    ("GET", "/parental-consent/{consent_id}"): "a parent's own link (its token; changes nothing)",
    (
        "POST",
        "/parental-consent/{consent_id}",
    ): "a parent's answer (the link's token; rate limited)",
    ("GET", "/v1/surveys/results/{result_id}"): "a published survey result (rate limited)",
    ("GET", "/surveys/results/{result_id}"): "a published survey result's page (rate limited)",
    (
        "GET",
        "/v1/contests/announcements/{announcement_id}",
    ): "a published winner announcement (rate limited)",
    ("GET", "/contests/{announcement_id}"): "a winner announcement's page (rate limited)",
    ("GET", "/admin/login"): "the staff login page",
    ("POST", "/admin/login"): "staff log in (Argon2id, lock-out, CSRF, rate limited)",
    ("POST", "/admin/logout"): "ends the caller's own session, if any (CSRF checked)",
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    permission: Permission | None
    admits_person: bool

    @property
    def console(self) -> bool:
        return self.path == "/admin" or self.path.startswith("/admin/")

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def checks(dependant: Dependant) -> Iterator[Any]:
    """The dependencies, at any depth, that carry a permission."""
    for sub in dependant.dependencies:
        if isinstance(getattr(sub.call, "permission", None), Permission):
            yield sub.call
        yield from checks(sub)


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every (method, path) the app serves, with the permission its dependencies check (those
    of the routers that include it too)."""
    found = []
    for route in iter_route_contexts(app.routes):  # included routers, flattened
        if not isinstance(route.original_route, Route):  # APIRoute is one; a Mount is not
            raise AssertionError(f"unexpected kind of route: {route.original_route!r}")
        dependant = getattr(route, "dependant", None)
        guards = list(checks(dependant)) if dependant is not None else []
        permissions = {guard.permission for guard in guards}
        assert len(permissions) <= 1, f"{route.path} checks several permissions: {permissions}"
        permission = next(iter(permissions), None)
        person = any(getattr(guard, "admits_person", False) for guard in guards)
        path = str(route.path)
        found += [Endpoint(m, path, permission, person) for m in sorted(route.methods or ())]
    return found


def unprotected(app: FastAPI) -> list[str]:
    """Routes that check no permission and are not public."""
    return [
        str(e) for e in endpoints(app) if e.permission is None and (e.method, e.path) not in PUBLIC
    ]


def url(path: str, charter: Charter) -> str:
    samples = {
        "request_id": str(uuid.uuid4()),
        "breach_id": str(uuid.uuid4()),
        "event_id": "1",
        "seq": "0",
        "brand": next(iter(charter.manifest.brands)),
        "touchpoint": next(iter(charter.manifest.touchpoints)),
        "name": "demo.css",
    }
    return re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), "x"), path)


def refused_roles(permission: Permission) -> list[Role]:
    return [role for role in Role if role not in PERMISSIONS[permission]]


@pytest.fixture
def app(settings: Settings, charter: Charter) -> FastAPI:
    return create_app(settings, charter=charter)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def call(client: TestClient, endpoint: Endpoint, path: str, **kwargs: Any) -> Response:
    if endpoint.method == "POST" and not endpoint.console:
        kwargs.setdefault("json", {})
    return client.request(endpoint.method, path, **kwargs)


def test_every_route_is_public_or_checked(app: FastAPI) -> None:
    assert unprotected(app) == [], (
        "these routes check no permission (Depends(require(...)) or the console's "
        "ConsolePage/ConsoleAction) and are not on the PUBLIC list"
    )
    routes = {(e.method, e.path) for e in endpoints(app)}
    assert sorted(set(PUBLIC) - routes) == [], "PUBLIC names routes the app does not have"
    for e in endpoints(app):
        if (e.method, e.path) in PUBLIC and e.permission is not None:
            assert e.admits_person, f"{e} is public yet requires a staff token"


def test_a_route_added_without_a_check_is_caught(app: FastAPI) -> None:
    @app.get("/v1/leak")
    def leak() -> dict[str, str]:
        return {}

    @app.post("/v1/guarded", dependencies=[Depends(require(Permission.DECIDE_REQUEST))])
    def guarded() -> dict[str, str]:
        return {}

    assert unprotected(app) == ["GET /v1/leak"]


def test_api_routes_refuse_anonymous_callers_and_the_roles_the_table_leaves_out(
    app: FastAPI, client: TestClient, charter: Charter
) -> None:
    tokens = {role: f"Bearer {charter.create_token(role.value).token}" for role in Role}
    problems: list[str] = []
    checked = 0
    for e in endpoints(app):
        if e.permission is None or e.console:
            continue
        checked += 1
        path = url(e.path, charter)
        anonymous = call(client, e, path)
        if e.admits_person:  # public with the person's own credential, which this call lacks
            if anonymous.status_code < 400 or anonymous.status_code >= 500:
                problems.append(f"{e} anonymous: {anonymous.status_code}")
        elif anonymous.status_code != 401 or anonymous.json()["error"]["code"] != "unauthorized":
            problems.append(f"{e} anonymous: {anonymous.status_code} {anonymous.text[:80]}")
        for role in Role:
            answer = call(client, e, path, headers={"Authorization": tokens[role]})
            if role in PERMISSIONS[e.permission]:
                if answer.status_code in (401, 403) or answer.status_code >= 500:
                    problems.append(f"{e} {role.value} (allowed): {answer.status_code}")
            elif answer.status_code != 403 or answer.json()["error"]["code"] != "forbidden":
                problems.append(f"{e} {role.value}: {answer.status_code} {answer.text[:80]}")
    assert checked >= 15  # the walk found the staff API
    assert problems == []


@pytest.fixture
def sessions(charter: Charter) -> dict[Role, tuple[str, str]]:
    """A console session (cookie, CSRF token) for a staff account of every role."""
    charter.staff.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    made = {}
    for role in Role:
        email = f"{role.value.replace('_', '-')}@example.org"
        charter.staff.create_user(email, f"A {role.value}", role.value, PASSWORD)
        session = charter.staff.login(email, PASSWORD)
        made[role] = (session.token, session.csrf_token)
    return made


def test_console_pages_and_actions_refuse_anonymous_visitors_and_the_roles_without_the_right(
    app: FastAPI, charter: Charter, sessions: dict[Role, tuple[str, str]]
) -> None:
    problems: list[str] = []
    checked = 0
    for e in endpoints(app):
        if not e.console or e.permission is None:
            continue
        checked += 1
        path = url(e.path, charter)
        with TestClient(app, follow_redirects=False) as anonymous:
            answer = call(anonymous, e, path, data={"csrf_token": "x"})
        to_login = answer.status_code == 303 and answer.headers["location"] == "/admin/login"
        if not (to_login or answer.status_code in (401, 403)):
            problems.append(f"{e} anonymous: {answer.status_code}")
        for role, (cookie, csrf_token) in sessions.items():
            with TestClient(app, follow_redirects=False) as browser:
                browser.cookies.set("charter_staff", cookie, path="/admin")
                answer = call(browser, e, path, data={"csrf_token": csrf_token})
            if role in PERMISSIONS[e.permission]:
                if answer.status_code in (401, 403) or answer.status_code >= 500:
                    problems.append(f"{e} {role.value} (allowed): {answer.status_code}")
            elif answer.status_code != 403 or "Not allowed" not in answer.text:
                problems.append(f"{e} {role.value}: {answer.status_code}")
    assert checked >= 6  # the queue, a request, and its four actions
    assert problems == []


def test_the_auditor_reads_and_changes_nothing() -> None:
    reads = {
        Permission.READ_MANIFEST,
        Permission.READ_RECEIPTS,
        Permission.READ_REQUESTS,
        Permission.READ_REGISTERS,
    }
    assert {p for p, roles in PERMISSIONS.items() if Role.AUDITOR in roles} == reads
