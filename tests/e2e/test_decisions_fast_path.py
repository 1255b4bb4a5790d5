"""``POST /v1/decisions`` answers through its fast path (``charter.api.fast``) exactly as through
the full stack: same status, headers and body for valid calls and for every kind of refusal,
with the body limit, security headers and CORS still applied around it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from starlette.types import Message, Receive, Scope, Send

from charter.api import create_app
from charter.api.fast import DecisionFastPath
from charter.config import Settings
from charter.facade import Charter

NOTICE = "Send me news and offers by email."
ORIGIN = "https://acme.example.org"


def without_fast_path(app: FastAPI) -> FastAPI:
    """``app`` as it was before the fast path: its middleware stack is built on the first call."""
    app.user_middleware = [m for m in app.user_middleware if m.cls is not DecisionFastPath]
    return app


@dataclass
class Apps:
    fast: TestClient
    full: TestClient
    headers: dict[str, str]
    subject_id: str
    tokens: dict[str, str] = field(default_factory=dict)

    def both(self, make: Callable[[Apps], dict[str, Any]]) -> tuple[Response, Response]:
        """One call to each app, built afresh for each (a chunked body is used up); a
        ``POST /v1/decisions`` unless ``make`` says otherwise."""
        return self.fast.request(**_call(self, make)), self.full.request(**_call(self, make))


def _call(apps: Apps, make: Callable[[Apps], dict[str, Any]]) -> dict[str, Any]:
    return {"method": "POST", "url": "/v1/decisions", **make(apps)}


@pytest.fixture
def apps(settings: Settings, charter: Charter) -> Iterator[Apps]:
    token = charter.create_token("service").token
    headers = {"Authorization": f"Bearer {token}"}
    fast_app = create_app(settings, charter=charter)
    assert any(m.cls is DecisionFastPath for m in fast_app.user_middleware)
    with (
        TestClient(fast_app) as fast,
        TestClient(without_fast_path(create_app(settings, charter=charter))) as full,
    ):
        given = fast.post(
            "/v1/consents",
            json={
                "brand": "acme",
                "purpose": "marketing_email",
                "action": "give",
                "notice": NOTICE,
                "identities": {"email": "ada@example.org"},
            },
            headers=headers,
        )
        assert given.status_code == 201, given.text
        revoked = charter.create_token("service")
        charter.revoke_token(revoked.id)
        tokens = {
            "auditor": charter.create_token("auditor").token,
            "support": charter.create_token("support").token,
            "revoked": revoked.token,
        }
        yield Apps(fast, full, headers, given.json()["subject_id"], tokens)


def valid(apps: Apps, **changes: Any) -> dict[str, Any]:
    body = {"brand": "acme", "purpose": "marketing_email", "subject_id": apps.subject_id}
    return {**body, **changes}


def same(fast: Response, full: Response, case: str) -> None:
    assert (fast.status_code, dict(fast.headers), fast.content) == (
        full.status_code,
        dict(full.headers),
        full.content,
    ), case


def chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 7):
        yield data[start : start + 7]


# (case, how to call): the content is built from ``apps`` at run time.
CASES: dict[str, Any] = {
    "by subject id": lambda a: {"json": valid(a), "headers": a.headers},
    "by identity": lambda a: {
        "json": valid(a, subject_id=None, identities={"email": "ada@example.org"}),
        "headers": a.headers,
    },
    "unknown subject": lambda a: {"json": valid(a, subject_id="nobody"), "headers": a.headers},
    "unknown purpose": lambda a: {"json": valid(a, purpose="nope"), "headers": a.headers},
    "category not allowed": lambda a: {
        "json": valid(a, categories=["user.financial.credit_card"]),
        "headers": a.headers,
    },
    "unknown brand": lambda a: {"json": valid(a, brand="nobrand"), "headers": a.headers},
    "no token": lambda a: {"json": valid(a)},
    "another scheme": lambda a: {
        "json": valid(a),
        "headers": {"Authorization": a.headers["Authorization"].replace("Bearer", "Basic")},
    },
    "scheme in lower case": lambda a: {
        "json": valid(a),
        "headers": {"Authorization": a.headers["Authorization"].replace("Bearer", "bearer")},
    },
    "unknown token": lambda a: {
        "json": valid(a),
        "headers": {"Authorization": "Bearer chr_0000_unknown"},
    },
    "revoked token": lambda a: {
        "json": valid(a),
        "headers": {"Authorization": f"Bearer {a.tokens['revoked']}"},
    },
    "role without the permission": lambda a: {
        "json": valid(a),
        "headers": {"Authorization": f"Bearer {a.tokens['auditor']}"},
    },
    "another role with it": lambda a: {
        "json": valid(a),
        "headers": {"Authorization": f"Bearer {a.tokens['support']}"},
    },
    "malformed json": lambda a: {
        "content": b'{"brand": "acme",',
        "headers": {**a.headers, "Content-Type": "application/json"},
    },
    "not utf-8": lambda a: {
        "content": b'{"brand": "\xff"}',
        "headers": {**a.headers, "Content-Type": "application/json"},
    },
    "nested too deep": lambda a: {
        "content": b"[" * 30_000,
        "headers": {**a.headers, "Content-Type": "application/json"},
    },
    "empty body": lambda a: {
        "content": b"",
        "headers": {**a.headers, "Content-Type": "application/json"},
    },
    "a list": lambda a: {"json": [valid(a)], "headers": a.headers},
    "unknown key": lambda a: {"json": valid(a, colour="red"), "headers": a.headers},
    "identities and subject id": lambda a: {
        "json": valid(a, identities={"email": "ada@example.org"}),
        "headers": a.headers,
    },
    "bad subject id": lambda a: {"json": valid(a, subject_id="x' or 1=1"), "headers": a.headers},
    "too many categories": lambda a: {
        "json": valid(a, categories=["user.name"] * 51),
        "headers": a.headers,
    },
    "too long a purpose": lambda a: {"json": valid(a, purpose="p" * 65), "headers": a.headers},
    "json with a charset": lambda a: {
        "content": json.dumps(valid(a)).encode(),
        "headers": {**a.headers, "Content-Type": "Application/JSON; charset=utf-8"},
    },
    "a +json media type": lambda a: {
        "content": json.dumps(valid(a)).encode(),
        "headers": {**a.headers, "Content-Type": "application/merge-patch+json"},
    },
    "text/plain": lambda a: {
        "content": json.dumps(valid(a)).encode(),
        "headers": {**a.headers, "Content-Type": "text/plain"},
    },
    "no media type": lambda a: {"content": json.dumps(valid(a)).encode(), "headers": a.headers},
    "in chunks": lambda a: {
        "content": chunks(json.dumps(valid(a)).encode()),
        "headers": {**a.headers, "Content-Type": "application/json"},
    },
    "over the body limit": lambda a: {
        "json": valid(a, categories=["x" * 70_000]),
        "headers": a.headers,
    },
    "over the body limit, in chunks": lambda a: {
        "content": chunks(json.dumps(valid(a, categories=["x" * 70_000])).encode()),
        "headers": {**a.headers, "Content-Type": "application/json"},
    },
    "from a brand's site": lambda a: {
        "json": valid(a),
        "headers": {**a.headers, "Origin": ORIGIN},
    },
    "from another site": lambda a: {
        "json": valid(a),
        "headers": {**a.headers, "Origin": "https://elsewhere.invalid"},
    },
}


def other(method: str, url: str, **headers: str) -> Callable[[Apps], dict[str, Any]]:
    return lambda a: {"method": method, "url": url, "headers": {**a.headers, **headers}}


OTHER_CALLS = {
    "preflight": other(
        "OPTIONS", "/v1/decisions", Origin=ORIGIN, **{"Access-Control-Request-Method": "POST"}
    ),
    "GET": other("GET", "/v1/decisions"),
    "trailing slash": other("POST", "/v1/decisions/"),
    "batch": other("POST", "/v1/decisions:batch"),
}


def test_every_call_answers_as_through_the_full_stack(apps: Apps) -> None:
    # One app pair for all the cases (a pair per case would take most of the time).
    for case, make in {**CASES, **OTHER_CALLS}.items():
        fast, full = apps.both(make)
        same(fast, full, case)


def test_the_answers_themselves(apps: Apps) -> None:
    """What the shared answers are, so that two equally wrong stacks cannot pass the above."""
    client = apps.fast
    answer = client.post("/v1/decisions", json=valid(apps), headers=apps.headers)
    assert answer.status_code == 200
    assert answer.json() == {"allowed": True, "basis": "consent", "reason": "ok"}
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    over_tls = TestClient(client.app, base_url="https://testserver")
    assert (
        over_tls.post("/v1/decisions", json=valid(apps), headers=apps.headers)
        .headers["strict-transport-security"]
        .startswith("max-age=")
    )
    cors = client.post(
        "/v1/decisions", json=valid(apps), headers={**apps.headers, "Origin": ORIGIN}
    )
    assert cors.headers["access-control-allow-origin"] == ORIGIN
    preflight = client.options(
        "/v1/decisions",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in preflight.headers["access-control-allow-methods"]
    malformed = client.post(
        "/v1/decisions",
        content=b'{"brand": "acme",',
        headers={**apps.headers, "Content-Type": "application/json"},
    )
    assert (malformed.status_code, malformed.json()["error"]["code"]) == (400, "malformed_json")
    invalid = client.post(
        "/v1/decisions", json=valid(apps, purpose="p" * 65, colour="red"), headers=apps.headers
    )
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "invalid_request"
    assert "purpose: " in invalid.json()["error"]["message"]
    assert "colour: unknown key" in invalid.json()["error"]["message"]
    oversize = client.post(
        "/v1/decisions", json=valid(apps, categories=["x" * 70_000]), headers=apps.headers
    )
    assert (oversize.status_code, oversize.json()["error"]["code"]) == (413, "payload_too_large")
    anonymous = client.post("/v1/decisions", json=valid(apps))
    assert (anonymous.status_code, anonymous.headers["www-authenticate"]) == (401, "Bearer")
    auditor = {"Authorization": f"Bearer {apps.tokens['auditor']}"}
    refused = client.post("/v1/decisions", json=valid(apps), headers=auditor)
    assert refused.json() == {
        "error": {"code": "forbidden", "message": "role 'auditor' may not decide"}
    }


def test_a_revoked_token_is_refused_on_the_very_next_decision(apps: Apps, charter: Charter) -> None:
    issued = charter.create_token("service")
    headers = {"Authorization": f"Bearer {issued.token}"}
    assert apps.fast.post("/v1/decisions", json=valid(apps), headers=headers).status_code == 200
    charter.revoke_token(issued.id)
    refused = apps.fast.post("/v1/decisions", json=valid(apps), headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "the bearer token is unknown or revoked"


@dataclass
class Inner:
    """The rest of the stack, recording what reaches it."""

    bodies: list[bytes] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def call(
    app: DecisionFastPath, fast_app: FastAPI, path: str, parts: list[bytes], token: str
) -> int:
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
        ],
        "app": fast_app,
    }
    messages: list[Message] = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    statuses: list[int] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


def test_the_fast_path_answers_alone_or_hands_over_the_body_as_it_came(
    apps: Apps, settings: Settings, charter: Charter
) -> None:
    asyncio.run(hands_over(apps, settings, charter))


async def hands_over(apps: Apps, settings: Settings, charter: Charter) -> None:
    inner = Inner()
    fast = DecisionFastPath(inner)
    fast_app = create_app(settings, charter=charter)
    token = apps.headers["Authorization"].removeprefix("Bearer ")
    body = json.dumps(valid(apps)).encode()
    assert await call(fast, fast_app, "/v1/decisions", [body[:9], body[9:]], token) == 200
    assert inner.bodies == []
    refused = [b'{"brand": "acme", ', b'"purpose": 1}']
    assert await call(fast, fast_app, "/v1/decisions", refused, token) == 299
    assert await call(fast, fast_app, "/v1/decisions", [body], "chr_unknown") == 299
    assert await call(fast, fast_app, "/v1/consents", [body[:9], body[9:]], token) == 299
    assert inner.bodies == [b"".join(refused), body, body]
