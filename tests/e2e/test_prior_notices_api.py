"""Prior notices over HTTP (the policy: diagnostics are collected only after "we will notify you
specifically in advance"): a submission carrying diagnostics is refused until the notice was
mailed and delivered to that person, accepted while it covers the moment, refused again once it
lapsed; the access report lists it; erasure removes it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fixtures.sources import Clock, body, erase, mails, package_of, sources_manifest
from sqlalchemy import func, select

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.manifest import lint, load_manifest
from charter.storage.tables import prior_notices_sent, subjects, submissions

ANN = "ann@example.org"
NOTICE = {"notice": "product_diagnostics", "touchpoint": "support"}


@dataclass
class Desk:
    client: TestClient
    charter: Charter
    clock: Clock
    service: dict[str, str]
    outbox: Path

    def notify(self, **body: Any) -> Any:
        payload = {"brand": "acme", "identities": {"email": ANN}, **NOTICE, **body}
        return self.client.post("/v1/notices", json=payload, headers=self.service)

    def submit(self, **body: Any) -> Any:
        payload = {
            "brand": "acme",
            "identities": {"email": ANN},
            "data": {"message": "It hums.", "diagnostics": "fw=2.1 err=E42"},
            **body,
        }
        return self.client.post(
            "/v1/touchpoints/support/submissions", json=payload, headers=self.service
        )

    def count(self, table: Any) -> int:
        with self.charter.store.read() as connection:
            return int(connection.scalar(select(func.count()).select_from(table)) or 0)


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return sources_manifest(tmp_path / "charter.yaml")


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    initialise(settings)
    clock = Clock()
    with Charter.open(settings, clock=clock) as charter:
        service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
        with TestClient(create_app(settings, charter=charter)) as client:
            yield Desk(client, charter, clock, service, settings.outbox_dir)


def test_the_test_manifest_is_sound(manifest_path: Path) -> None:
    assert lint(load_manifest(manifest_path)) == []


def test_diagnostics_wait_for_the_notice_and_lapse_with_it(desk: Desk) -> None:
    refused = desk.submit()
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "prior_notice_required"
    assert "data.diagnostics" in error["message"]
    assert "product_diagnostics" in error["message"]
    assert desk.count(submissions) == 0 and desk.count(subjects) == 0  # nothing stored
    assert desk.submit(data={"message": "It hums."}).status_code == 201  # no diagnostics: fine

    desk.clock.now += dt.timedelta(hours=1)
    sent = desk.notify()
    assert sent.status_code == 201, sent.text
    notice = sent.json()
    assert notice["notice"] == "product_diagnostics"
    assert notice["touchpoint"] == "support"
    assert dt.datetime.fromisoformat(notice["sent_at"]) == desk.clock.now
    assert dt.datetime.fromisoformat(notice["valid_until"]) == desk.clock.now + dt.timedelta(
        days=30
    )
    (mail,) = [m for m in mails(desk.outbox, ANN) if "diagnostics" in m["Subject"]]
    assert mail["Subject"] == "Acme Audio: Before we read diagnostics from your product"
    assert mail["From"] == "privacy@example.org"
    assert "diagnostic logs" in body(mail)
    assert "30 days" in body(mail)

    accepted = desk.submit()
    assert accepted.status_code == 201, accepted.text
    assert "diagnostics" in {s["field"] for s in accepted.json()["stored"]}
    # Sent to Ann, it covers nobody else.
    other = desk.submit(identities={"email": "bob@example.org"})
    assert other.json()["error"]["code"] == "prior_notice_required"

    desk.clock.now += dt.timedelta(days=30)  # its last instant
    assert desk.submit().status_code == 201
    desk.clock.now += dt.timedelta(seconds=1)
    lapsed = desk.submit()
    assert lapsed.status_code == 422
    assert lapsed.json()["error"]["code"] == "prior_notice_required"
    assert desk.notify().status_code == 201  # told again, it covers again
    assert desk.submit().status_code == 201


class Failing:
    def send(self, email: EmailMessage) -> None:
        raise OSError("relay down")


def test_a_notice_the_outbox_could_not_deliver_covers_nothing_until_it_goes(desk: Desk) -> None:
    working = desk.charter.outbox.transport
    desk.charter.outbox.transport = Failing()
    queued = desk.notify()
    assert queued.status_code == 201, queued.text
    assert queued.json()["sent_at"] is None and queued.json()["valid_until"] is None
    assert desk.submit().json()["error"]["code"] == "prior_notice_required"

    desk.charter.outbox.transport = working
    desk.clock.now += dt.timedelta(minutes=5)  # the outbox retries after a wait
    assert desk.charter.outbox.deliver() == 1
    with desk.charter.store.read() as connection:
        sent_at = connection.scalar(select(prior_notices_sent.c.sent_at))
    assert sent_at is not None and sent_at.replace(tzinfo=dt.UTC) == desk.clock.now
    assert desk.submit().status_code == 201


def test_bad_notice_calls_are_refused_and_nothing_is_kept(desk: Desk) -> None:
    cases = [
        ({"notice": "cookies"}, 404, "unknown_notice"),
        ({"touchpoint": "checkout"}, 404, "unknown_touchpoint"),
        ({"touchpoint": "purchase"}, 422, "notice_not_needed"),
        ({"brand": "nobody"}, 422, "unknown_brand"),
        ({"brand": "zeta"}, 422, "brand_not_offered"),  # support is Acme's only
        ({"identities": {"phone": "+14015550100"}}, 422, "email_required"),
        ({"identities": {"cookie_id": "c00kie-1234"}}, 422, "undeclared_field"),
        ({"identities": {}}, 422, "identity_required"),
        ({"extra": 1}, 422, None),
    ]
    for change, status, code in cases:
        answer = desk.notify(**change)
        assert answer.status_code == status, (change, answer.text)
        if code is not None:
            assert answer.json()["error"]["code"] == code, change
    assert desk.count(subjects) == 0 and desk.count(prior_notices_sent) == 0
    assert mails(desk.outbox) == []
    anonymous = desk.client.post("/v1/notices", json={"brand": "acme", **NOTICE})
    assert anonymous.status_code == 401


def test_a_known_person_is_told_at_the_address_on_file_and_linked(desk: Desk) -> None:
    phone = "+14015550100"
    # First known by phone and e-mail, then by phone alone.
    assert (
        desk.submit(identities={"email": ANN, "phone": phone}, data={"message": "Hi"}).status_code
        == 201
    )
    sent = desk.notify(identities={"phone": phone})
    assert sent.status_code == 201, sent.text
    assert [m["Subject"] for m in mails(desk.outbox, ANN)][-1].endswith("from your product")
    assert desk.submit(identities={"phone": phone}).status_code == 201


def test_a_notice_given_to_a_new_address_follows_the_person_when_linked(desk: Desk) -> None:
    phone = "+14015550100"
    first = desk.submit(identities={"phone": phone}, data={"message": "Hi"})
    older = first.json()["subject_id"]
    desk.clock.now += dt.timedelta(minutes=1)
    assert desk.notify().status_code == 201  # a new subject, known by the e-mail only
    both = desk.submit(identities={"email": ANN, "phone": phone})
    assert both.status_code == 201, both.text
    assert both.json()["subject_id"] == older  # linked into the older one
    with desk.charter.store.read() as connection:
        owners = set(connection.scalars(select(prior_notices_sent.c.subject_id)))
    assert owners == {older}


def test_the_access_report_lists_the_notice_and_erasure_removes_it(desk: Desk) -> None:
    assert desk.notify().status_code == 201
    told_at = desk.clock.now
    desk.clock.now += dt.timedelta(days=2)
    assert desk.submit().status_code == 201
    report, data = package_of(desk.client, desk.charter, desk.outbox, ANN)
    assert data["prior_notices"] == [
        {
            "notice": "product_diagnostics",
            "name": "Product diagnostics",
            "brand": "acme",
            "touchpoint": "support",
            "sent_at": told_at.isoformat(),
        }
    ]
    assert "Notices we sent you before collecting" in report
    assert "<strong>Product diagnostics</strong> (Acme Audio, Customer support)" in report
    assert told_at.isoformat() in report

    erase(desk.client, desk.charter, desk.outbox, ANN)
    assert desk.count(prior_notices_sent) == 0
