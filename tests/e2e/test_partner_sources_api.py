"""Data from partners and social platforms over HTTP (GDPR Art. 14): a submission there must say
which partner sent it and under which agreement; the source is recorded with it; the person is
told by e-mail at once (within a month at the latest) unless the partner is exempt, whose
ground is recorded instead; the access report names the source and when the person was told."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from fixtures.sources import Clock, body, erase, mails, package_of, sources_manifest
from sqlalchemy import func, select

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.domain.notices_rules import art14_due
from charter.facade import Charter
from charter.jobs.worker import Worker
from charter.storage.tables import source_receipts, subjects, submissions

ANN = "ann@example.org"
LOOPWORKS = {"partner": "loopworks", "agreement": "LW-2024-DSA-01"}


@dataclass
class Feed:
    client: TestClient
    charter: Charter
    clock: Clock
    service: dict[str, str]
    outbox: Path

    def submit(self, touchpoint: str = "partner_data", **body: Any) -> Any:
        payload = {
            "brand": "acme",
            "identities": {"email": ANN},
            "data": {"name": "Ann Example"},
            "source": LOOPWORKS,
            **body,
        }
        return self.client.post(
            f"/v1/touchpoints/{touchpoint}/submissions", json=payload, headers=self.service
        )

    def count(self, table: Any) -> int:
        with self.charter.store.read() as connection:
            return int(connection.scalar(select(func.count()).select_from(table)) or 0)

    def receipts(self) -> list[Any]:
        with self.charter.store.read() as connection:
            return list(connection.execute(select(source_receipts).order_by(source_receipts.c.id)))


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    return sources_manifest(tmp_path / "charter.yaml")


@pytest.fixture
def feed(settings: Settings) -> Iterator[Feed]:
    initialise(settings)
    clock = Clock()
    with Charter.open(settings, clock=clock) as charter:
        service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
        with TestClient(create_app(settings, charter=charter)) as client:
            yield Feed(client, charter, clock, service, settings.outbox_dir)


def utc(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else moment.replace(tzinfo=dt.UTC)


def test_a_submission_must_name_its_source_rightly_or_nothing_is_kept(feed: Feed) -> None:
    cases = [
        ("partner_data", {"source": None}, "source_required"),
        ("partner_data", {"source": {"partner": "tunecast", "agreement": "X"}}, "unknown_partner"),
        ("partner_data", {"source": {"partner": "chirp"}}, "unknown_partner"),  # not listed here
        (
            "partner_data",
            {"source": {"partner": "loopworks", "agreement": "LW-1999"}},
            "unknown_agreement",
        ),
        ("partner_data", {"source": {"partner": "loopworks"}}, "unknown_agreement"),
        ("support", {"data": {"message": "Hi"}}, "source_not_expected"),
    ]
    for touchpoint, change, code in cases:
        answer = feed.submit(touchpoint, **change)
        assert answer.status_code == 422, (change, answer.text)
        assert answer.json()["error"]["code"] == code, change
        assert "source" in answer.json()["error"]["message"]
    bad_shape = feed.submit(source={"partner": "loopworks", "agreement": "LW-2024-DSA-01", "x": 1})
    assert bad_shape.status_code == 422
    assert feed.count(submissions) == 0 and feed.count(subjects) == 0
    assert feed.count(source_receipts) == 0
    assert mails(feed.outbox) == []


def test_the_source_is_recorded_and_the_person_told_at_once(feed: Feed) -> None:
    answer = feed.submit()
    assert answer.status_code == 201, answer.text
    (receipt,) = feed.receipts()
    now = feed.clock.now
    assert receipt.submission_id == answer.json()["submission_id"]
    assert receipt.subject_id == answer.json()["subject_id"]
    assert (receipt.partner, receipt.agreement, receipt.touchpoint) == (
        "loopworks",
        "LW-2024-DSA-01",
        "partner_data",
    )
    assert utc(receipt.received_at) == now
    assert (
        utc(receipt.notice_due_at) == art14_due(now) == dt.datetime(2026, 12, 29, 9, tzinfo=dt.UTC)
    )
    assert receipt.notice_status == "sent"
    assert utc(receipt.notice_sent_at) == now

    (mail,) = mails(feed.outbox, ANN)
    assert mail["Subject"] == "Acme Audio: data about you we received from Loopworks Software Ltd"
    text = body(mail)
    for said in (
        "Example Group, Inc.",  # the controller
        "from Loopworks Software Ltd, under agreement LW-2024-DSA-01",  # the source
        "Name",  # a category received
        "Email address",
        "Customer support: ",  # a purpose and its basis
        "Shop hosting provider",  # a recipient of those categories for that purpose
        "3 years",  # retention
        "/privacy",  # rights
        "/policy",
        "GDPR Art. 14",
    ):
        assert said in text, said
    assert "Ann Example" not in text  # the values themselves are not repeated

    # A second receipt for the same person: one more mail for it, naming the other agreement.
    feed.clock.now += dt.timedelta(days=3)
    again = feed.submit(source={"partner": "loopworks", "agreement": "LW-2025-DSA-02"})
    assert again.status_code == 201
    assert [r.notice_status for r in feed.receipts()] == ["sent", "sent"]
    assert "LW-2025-DSA-02" in body(mails(feed.outbox, ANN)[-1])


def test_an_exempt_platform_gets_no_mail_and_the_exemption_is_recorded(feed: Feed) -> None:
    answer = feed.submit(
        "social",
        identities={"account_id": "chirp-4411", "email": ANN},
        data={"message": "Love the new pad!"},
        source={"partner": "chirp"},
    )
    assert answer.status_code == 201, answer.text
    (receipt,) = feed.receipts()
    assert receipt.notice_status == "exempt"
    assert receipt.agreement is None and receipt.notice_due_at is None
    assert receipt.exemption_ground == "disproportionate_effort"
    assert "platform's handle" in receipt.exemption_reason
    assert mails(feed.outbox) == []


def test_without_an_email_the_notice_is_recorded_undeliverable(feed: Feed) -> None:
    answer = feed.submit(identities={"account_id": "acct-77"})
    assert answer.status_code == 201, answer.text
    (receipt,) = feed.receipts()
    assert receipt.notice_status == "undeliverable"
    assert mails(feed.outbox) == []


def test_a_notice_left_pending_goes_with_the_worker_one_mail_for_all(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError("process stopped after the commit")

    with monkeypatch.context() as patched:
        patched.setattr(feed.charter.sources, "send_due", crash)
        first = feed.submit()
        feed.clock.now += dt.timedelta(days=1)
        second = feed.submit(source={"partner": "loopworks", "agreement": "LW-2025-DSA-02"})
    assert first.status_code == 201 and second.status_code == 201  # kept all the same
    assert [r.notice_status for r in feed.receipts()] == ["pending", "pending"]
    assert mails(feed.outbox) == []

    feed.clock.now += dt.timedelta(hours=1)
    Worker(feed.charter).run_once()
    assert [r.notice_status for r in feed.receipts()] == ["sent", "sent"]
    assert {utc(r.notice_sent_at) for r in feed.receipts()} == {feed.clock.now}
    (mail,) = mails(feed.outbox, ANN)  # one mail covers both receipts
    assert "LW-2024-DSA-01" in body(mail) and "LW-2025-DSA-02" in body(mail)
    Worker(feed.charter).run_once()
    assert len(mails(feed.outbox, ANN)) == 1  # and nothing goes twice


def test_the_console_dashboard_counts_the_notices_owed_per_partner(
    feed: Feed, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError("process stopped after the commit")

    assert feed.submit().status_code == 201  # told at once
    with monkeypatch.context() as patched:
        patched.setattr(feed.charter.sources, "send_due", crash)
        late = feed.submit(identities={"email": "bob@example.org"})  # left pending
    assert late.status_code == 201
    assert feed.submit(identities={"account_id": "acct-77"}).status_code == 201  # no address
    exempt = feed.submit(
        "social",
        identities={"account_id": "chirp-4411"},
        data={"message": "Love the new pad!"},
        source={"partner": "chirp"},
    )
    assert exempt.status_code == 201, exempt.text
    feed.clock.now += dt.timedelta(days=40)  # past the month Art. 14(3)(a) allows

    feed.charter.staff.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    password = "correct horse battery"
    feed.charter.staff.create_user("dpo@example.org", "Dana Diaz", "privacy_officer", password)
    login = feed.client.get("/admin/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login)
    assert token is not None
    signed_in = feed.client.post(
        "/admin/login",
        data={"email": "dpo@example.org", "password": password, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303
    page = feed.client.get("/admin").text
    assert "1 notice is overdue." in page
    rows = {
        name: re.findall(r"<td>([^<]*)</td>", cells)
        for name, cells in re.findall(r"<tr><td>([^<]+)</td>((?:<td>[^<]*</td>){7})</tr>", page)
    }
    # received, told, exempt, waiting, next due, overdue, no address
    assert rows["Loopworks Software Ltd"] == ["3", "1", "0", "1", "2026-12-29", "1", "1"]
    assert rows["Chirp brand pages"] == ["1", "0", "1", "0", "", "0", "0"]

    Worker(feed.charter).run_once()  # the worker tells the one left waiting
    after = feed.client.get("/admin").text
    assert "overdue." not in after


def test_the_access_report_names_the_sources_and_erasure_removes_them(feed: Feed) -> None:
    assert feed.submit().status_code == 201
    told = feed.clock.now
    feed.clock.now += dt.timedelta(days=1)
    social = feed.submit(
        "social",
        identities={"account_id": "chirp-4411", "email": ANN},
        data={"message": "Hello"},
        source={"partner": "chirp"},
    )
    assert social.status_code == 201
    report, data = package_of(feed.client, feed.charter, feed.outbox, ANN)
    loop, chirp = data["sources"]
    assert loop["source"] == "Loopworks Software Ltd"
    assert loop["agreement"] == "LW-2024-DSA-01"
    assert loop["at"] == told.isoformat()
    assert loop["notice"] == "sent" and loop["notice_sent_at"] == told.isoformat()
    assert chirp["source"] == "Chirp brand pages"
    assert chirp["notice"] == "exempt" and chirp["exemption"] == "disproportionate_effort"
    assert "<strong>Loopworks Software Ltd</strong>, under LW-2024-DSA-01 (Partner data)" in report
    assert "We told you by e-mail on" in report
    assert "<strong>Chirp brand pages</strong> (Social media messages)" in report
    assert "We did not write to you about it" in report
    assert "GDPR Art. 14(5)" in report

    erase(feed.client, feed.charter, feed.outbox, ANN)
    assert feed.count(source_receipts) == 0
