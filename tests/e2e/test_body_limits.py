"""Every POST route (from the app's router) refuses a body over ``CHARTER_MAX_BODY_BYTES`` with
413 and the JSON error, whether the length is declared or the body comes in chunks, before
any check of who is asking and before anything is read or written."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from charter.api import create_app
from charter.config import Settings
from charter.facade import Charter
from charter.storage.tables import consent_events, rights_requests


def post_paths(app: FastAPI) -> list[str]:
    samples = {"request_id": str(uuid.uuid4()), "seq": "0", "touchpoint": "purchase"}
    return [
        re.sub(r"\{(\w+)\}", lambda m: samples.get(m.group(1), "x"), str(route.path))
        for route in iter_route_contexts(app.routes)
        if "POST" in (route.methods or ())
    ]


def refused(answer: Response, limit: int) -> None:
    assert answer.status_code == 413, answer.text
    assert answer.json() == {
        "error": {
            "code": "payload_too_large",
            "message": f"the request body is larger than {limit} bytes",
        }
    }


def chunks(size: int) -> Iterator[bytes]:
    sent = 0
    while sent < size:
        yield b"x" * 4096
        sent += 4096


def test_every_post_route_refuses_an_oversize_body(settings: Settings, charter: Charter) -> None:
    app = create_app(settings, charter=charter)
    client = TestClient(app, follow_redirects=False)
    limit = settings.max_body_bytes
    paths = post_paths(app)
    assert {"/v1/requests", "/v1/cookie-consent", "/privacy/requests", "/admin/login"} <= set(paths)
    oversize = '{"pad": "' + "x" * limit + '"}'
    for path in paths:
        declared = client.post(path, content=oversize, headers={"Content-Type": "application/json"})
        refused(declared, limit)
        form = client.post(path, data={"email": "x" * limit})
        refused(form, limit)
        chunked = client.post(path, content=chunks(limit + 1))
        refused(chunked, limit)
    with charter.store.read() as connection:
        for table in (rights_requests, consent_events):
            assert connection.execute(select(func.count()).select_from(table)).scalar_one() == 0
    # just under the limit is not refused for its size
    fits = client.post("/v1/requests", json={"pad": "x" * (limit - 20)})
    assert len(fits.request.content) <= limit
    assert fits.status_code == 422 and fits.json()["error"]["code"] == "invalid_request"
