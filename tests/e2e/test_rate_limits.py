"""Rate limits on the public endpoints, per client address and per identity: request intake
(API and privacy center form, per e-mail), verification and new codes (per request),
unsubscribe (per subject of the link), cookie consent (per cookie id). A refused call is 429
with ``Retry-After`` (JSON, or the form's page again on the privacy center) and writes
nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.services.consents import ConsentRequest
from charter.services.requests import NewRequest
from charter.storage.tables import consent_events, preference_events, rights_requests

PER_ADDRESS = 3
PER_IDENTITY = 2


@dataclass
class Site:
    app: FastAPI
    charter: Charter

    def client(self, address: str = "198.51.100.1") -> TestClient:
        return TestClient(self.app, client=(address, 50000), follow_redirects=False)

    def addresses(self, count: int) -> Iterator[TestClient]:
        """Clients from ``count`` different addresses."""
        for i in range(count):
            yield self.client(f"203.0.113.{i + 1}")

    def count(self, table: Any) -> int:
        with self.charter.store.read() as connection:
            return int(connection.execute(select(func.count()).select_from(table)).scalar_one())

    def request(self, email: str = "ann@example.org") -> str:
        return self.charter.requests.submit(NewRequest("access", "acme", {"email": email})).id

    def later(self, minutes: int) -> None:
        moment = self.charter.requests.clock() + dt.timedelta(minutes=minutes)
        self.charter.requests.clock = lambda: moment

    def codes_sent(self, request_id: str) -> int:
        return sum(e.kind == "code_sent" for e in self.charter.requests.view(request_id).history)


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    settings = settings.model_copy(
        update={
            "public_rate_limit": PER_ADDRESS,
            "cookie_consent_rate_limit": PER_ADDRESS,
            "unsubscribe_rate_limit": PER_ADDRESS,
            "identity_rate_limit": PER_IDENTITY,
        }
    )
    initialise(settings)
    with Charter.open(settings) as charter:
        yield Site(create_app(settings, charter=charter), charter)


def refused(answer: Response) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"]["code"] == "rate_limited"
    assert int(answer.headers["retry-after"]) >= 1


def refused_page(answer: Response) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert int(answer.headers["retry-after"]) >= 1
    assert "Too many tries: please try again in" in answer.text and 'role="alert"' in answer.text
    assert "unsafe-inline" not in answer.headers["content-security-policy"]


def filing(email: str) -> dict[str, Any]:
    return {"type": "access", "brand": "acme", "identities": {"email": email}}


def form(email: str) -> dict[str, str]:
    return {"brand": "acme", "type": "access", "email": email}


# -- request intake -------------------------------------------------------------------------------


def test_intake_is_limited_per_address(site: Site) -> None:
    client = site.client()
    for i in range(PER_ADDRESS):
        assert client.post("/v1/requests", json=filing(f"p{i}@example.org")).status_code == 202
    refused(client.post("/v1/requests", json=filing("late@example.org")))
    # the privacy center's form counts with the API's calls
    page = client.post("/privacy/requests", data=form("late@example.org"))
    refused_page(page)
    assert 'value="late@example.org"' in page.text  # the form keeps what was typed
    assert site.count(rights_requests) == PER_ADDRESS
    other = site.client("198.51.100.99")
    assert other.post("/v1/requests", json=filing("late@example.org")).status_code == 202


def test_intake_is_limited_per_email_from_any_address(site: Site) -> None:
    a, b, c, d = site.addresses(4)
    assert a.post("/v1/requests", json=filing("ann@example.org")).status_code == 202
    assert b.post("/privacy/requests", data=form("Ann@Example.org ")).status_code == 202
    refused(c.post("/v1/requests", json=filing("ANN@example.org")))
    refused_page(d.post("/privacy/requests", data=form("ann@example.org")))
    assert site.count(rights_requests) == PER_IDENTITY
    assert d.post("/v1/requests", json=filing("bob@example.org")).status_code == 202
    # the table of counts holds keyed hashes, never an address
    keys = " ".join(site.app.state.identity_rate_limit._hits)
    assert "example.org" not in keys and "ann" not in keys


# -- verification ---------------------------------------------------------------------------------


def failed_attempts(site: Site, request_id: str) -> int:
    with site.charter.store.read() as connection:
        return int(
            connection.scalar(
                select(rights_requests.c.failed_attempts).where(rights_requests.c.id == request_id)
            )
        )


def test_verification_is_limited_per_address(site: Site) -> None:
    client = site.client()
    for _ in range(PER_ADDRESS):
        answer = client.post(f"/v1/requests/{site.request()}/verify", json={"code": "000000"})
        assert answer.status_code == 422
    last = site.request()
    refused(client.post(f"/v1/requests/{last}/verify", json={"code": "000000"}))
    refused_page(client.post(f"/privacy/requests/{last}/verify", data={"code": "000000"}))
    assert failed_attempts(site, last) == 0


def test_verification_is_limited_per_request_from_any_address(site: Site) -> None:
    request_id = site.request()
    a, b, c, d = site.addresses(4)
    assert a.post(f"/v1/requests/{request_id}/verify", json={"code": "000000"}).status_code == 422
    site.later(1)  # past the wait after a wrong code
    answer = b.post(f"/privacy/requests/{request_id}/verify", data={"code": "000000"})
    assert answer.status_code == 422
    site.later(1)
    refused(c.post(f"/v1/requests/{request_id}/verify", json={"code": "000000"}))
    refused_page(d.post(f"/privacy/requests/{request_id}/verify", data={"code": "000000"}))
    assert failed_attempts(site, request_id) == PER_IDENTITY


def test_new_codes_are_limited_per_address(site: Site) -> None:
    client = site.client()
    *first, last = [site.request() for _ in range(PER_ADDRESS + 1)]
    site.later(2)  # past the service's own minute between codes
    for request_id in first:
        assert client.post(f"/v1/requests/{request_id}/code").status_code == 202
    refused(client.post(f"/v1/requests/{last}/code"))
    refused_page(client.post(f"/privacy/requests/{last}/code"))
    assert site.codes_sent(last) == 0


def test_new_codes_are_limited_per_request_from_any_address(site: Site) -> None:
    request_id = site.request()
    a, b, c, d = site.addresses(4)
    site.later(2)  # past the service's own minute between codes
    assert a.post(f"/v1/requests/{request_id}/code").status_code == 202
    site.later(2)
    assert b.post(f"/privacy/requests/{request_id}/code").status_code == 202
    site.later(2)
    refused(c.post(f"/v1/requests/{request_id}/code"))
    refused_page(d.post(f"/privacy/requests/{request_id}/code"))
    assert site.codes_sent(request_id) == PER_IDENTITY


# -- unsubscribe ----------------------------------------------------------------------------------


def unsubscribe_url(site: Site, email: str) -> str:
    recorded = site.charter.record_consent(
        ConsentRequest(
            brand="acme",
            purpose="marketing_email",
            action="give",
            identities={"email": email},
            notice="Send me news.",
        )
    )
    token = site.charter.preferences.unsubscribe_token(recorded.subject_id, "acme", "email")
    return f"/v1/unsubscribe?token={token}"


def test_unsubscribe_is_limited_per_address(site: Site) -> None:
    client = site.client()
    urls = [unsubscribe_url(site, f"u{i}@example.org") for i in range(PER_ADDRESS + 1)]
    for url in urls[:PER_ADDRESS]:
        assert client.get(url).status_code == 200
        assert client.post(url).status_code == 200
    refused(client.get(urls[-1]))
    refused(client.post(urls[-1]))
    assert site.count(preference_events) == PER_ADDRESS
    assert site.client("198.51.100.99").post(urls[-1]).status_code == 200


def test_unsubscribe_is_limited_per_subject_from_any_address(site: Site) -> None:
    url = unsubscribe_url(site, "una@example.org")
    clients = list(site.addresses(PER_IDENTITY + 1))
    for client in clients[:PER_IDENTITY]:
        assert client.get(url).status_code == 200
    refused(clients[-1].get(url))
    for client in clients[:PER_IDENTITY]:  # the page and the unsubscribe count apart
        assert client.post(url).status_code == 200
    refused(clients[-1].post(url))
    assert site.count(preference_events) == 1  # the first unsubscribe; the second changed nothing


# -- cookie consent -------------------------------------------------------------------------------


def choice(client: TestClient, **body: Any) -> Response:
    config = client.get("/v1/cookie-banner/zeta").json()
    payload = {
        "brand": "zeta",
        "method": "reject_all",
        "language": config["language"],
        "config_version": config["config_version"],
        "text_version": config["text_version"],
        **body,
    }
    return client.post("/v1/cookie-consent", json=payload)


def test_cookie_choices_are_limited_per_address(site: Site) -> None:
    client = site.client()
    for _ in range(PER_ADDRESS):
        assert choice(client).status_code == 201
    before = site.count(consent_events)
    refused(choice(client))
    assert site.count(consent_events) == before


def test_cookie_choices_are_limited_per_cookie_id_from_any_address(site: Site) -> None:
    a, b, c, d = site.addresses(4)
    first = choice(a)  # no cookie id yet: a new one is made (and nothing counted for it)
    assert first.status_code == 201
    cookie_id = first.json()["cookie_id"]
    assert choice(b, cookie_id=cookie_id, method="accept_all").status_code == 201
    assert choice(c, cookie_id=cookie_id).status_code == 201
    before = site.count(consent_events)
    refused(choice(d, cookie_id=cookie_id, method="accept_all"))
    assert site.count(consent_events) == before
    assert choice(d).status_code == 201  # another visitor from that address
