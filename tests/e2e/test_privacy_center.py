"""The privacy center's pages over HTTP (forms, no JavaScript): file, confirm, follow."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter


@pytest.fixture
def site(settings: Settings) -> Iterator[tuple[TestClient, Charter, Path]]:
    initialise(settings)
    with (
        Charter.open(settings) as charter,
        TestClient(create_app(settings, charter=charter), follow_redirects=False) as client,
    ):
        yield client, charter, settings.outbox_dir


class Labels(HTMLParser):
    """Every form control and whether a <label> names it (by for=, or by wrapping it)."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[tuple[str, str | None]] = []
        self.label_for: set[str] = set()
        self.open_labels = 0
        self.wrapped: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "label":
            self.open_labels += 1
            if found.get("for"):
                self.label_for.add(str(found["for"]))
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            name = f"{found.get('name')}={found.get('value')}"
            self.controls.append((name, found.get("id")))
            if self.open_labels:
                self.wrapped.add(name)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_labels -= 1

    def unlabelled(self) -> list[str]:
        return [
            name
            for name, control_id in self.controls
            if name not in self.wrapped and control_id not in self.label_for
        ]


def code_in_last_mail(outbox: Path) -> str:
    newest = sorted(outbox.glob("*.eml"))[-1]
    body = email.message_from_bytes(newest.read_bytes()).get_payload(decode=True).decode()  # type: ignore[union-attr]
    found = re.search(r"^\s+(\d{6})$", body, re.M)
    assert found is not None
    return found.group(1)


def test_the_form_is_labelled_and_in_the_brands_name(
    site: tuple[TestClient, Charter, Path],
) -> None:
    client, charter, _ = site
    page = client.get("/privacy?brand=acme")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert charter.manifest.brands["acme"].name in page.text
    parser = Labels()
    parser.feed(page.text)
    assert len(parser.controls) >= 9  # seven types, e-mail, details, where you live
    assert parser.unlabelled() == []
    assert '<html lang="en">' in page.text and 'href="#main"' in page.text


def test_file_confirm_and_follow_a_request(site: tuple[TestClient, Charter, Path]) -> None:
    client, charter, outbox = site
    filed = client.post(
        "/privacy/requests",
        data={"brand": "acme", "type": "access", "email": "ann@example.org", "details": ""},
    )
    assert filed.status_code == 202
    assert "Check your e-mail" in filed.text
    request_id = re.search(r"/privacy/requests/([0-9a-f-]{36})/verify", filed.text).group(1)  # type: ignore[union-attr]
    code = code_in_last_mail(outbox)
    link = client.get(f"/privacy/verify?request={request_id}&code={code}")
    assert link.status_code == 200 and f'value="{code}"' in link.text  # the link changes nothing
    assert charter.requests.view(request_id).status == "awaiting_verification"
    confirmed = client.post(f"/privacy/requests/{request_id}/verify", data={"code": code})
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"/privacy/requests/{request_id}"
    cookie = confirmed.headers["set-cookie"]
    assert "HttpOnly" in cookie and f"Path=/privacy/requests/{request_id}" in cookie
    assert "SameSite=strict" in cookie
    status = client.get(f"/privacy/requests/{request_id}")
    assert status.status_code == 200
    assert "You confirmed the request." in status.text
    # another browser (no cookie) sees nothing of it
    stranger = TestClient(client.app)
    assert stranger.get(f"/privacy/requests/{request_id}").status_code == 401


def test_mistakes_are_explained_on_the_form(site: tuple[TestClient, Charter, Path]) -> None:
    client, charter, outbox = site
    no_type = client.post("/privacy/requests", data={"brand": "acme", "email": "a@example.org"})
    assert no_type.status_code == 422 and "Choose what you would like us to do." in no_type.text
    bad_mail = client.post(
        "/privacy/requests",
        data={"brand": "acme", "type": "erasure", "email": "not-an-address", "details": "<b>x</b>"},
    )
    assert bad_mail.status_code == 422
    assert 'role="alert"' in bad_mail.text and "email" in bad_mail.text
    assert "&lt;b&gt;x&lt;/b&gt;" in bad_mail.text  # what was typed comes back, escaped
    filed = client.post(
        "/privacy/requests", data={"brand": "acme", "type": "erasure", "email": "b@example.org"}
    )
    request_id = re.search(r"/privacy/requests/([0-9a-f-]{36})/verify", filed.text).group(1)  # type: ignore[union-attr]
    wrong = client.post(f"/privacy/requests/{request_id}/verify", data={"code": "000000"})
    assert wrong.status_code == 422 and "wrong" in wrong.text
    assert charter.requests.queue(include_closed=True)[0].status == "awaiting_verification"
    assert len(list(outbox.glob("*.eml"))) == 1
