"""Children, as the brands' systems, a parent and the privacy team meet it over HTTP: under the
child age nothing but the parent's contact is kept until the parent confirms by e-mail; the
confirmed consent lets the service keep the submission once, and is in the consent ledger with
its method; the parent sees, withdraws and deletes through their link; staff cancel an improper
registration at once; nobody else can do any of it."""

from __future__ import annotations

import datetime as dt
import email
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.services.forensics import ForensicScanner
from charter.storage.tables import audit_events, consent_events, parental_consents

KID = "kid@example.org"
PARENT = "parent@example.org"
BORN = "2015-06-01"  # 11 on the test's clock


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 29, 9, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Site:
    client: TestClient
    charter: Charter
    clock: Clock
    service: dict[str, str]
    settings: Settings

    def submit(self, **body: Any) -> Any:
        payload = {
            "brand": "acme",
            "identities": {"email": KID},
            "data": {"message": "My drum pad squeaks.", "date_of_birth": BORN},
            **body,
        }
        return self.client.post(
            "/v1/touchpoints/support/submissions", json=payload, headers=self.service
        )

    def reason(self, purpose: str = "support", who: str = KID) -> str:
        answer = self.client.post(
            "/v1/decisions",
            json={"brand": "acme", "purpose": purpose, "identities": {"email": who}},
            headers=self.service,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["reason"])

    def link(self) -> str:
        """The path and query of the link in the newest mail to the parent."""
        for path in sorted(self.settings.outbox_dir.glob("*.eml"), reverse=True):
            message = email.message_from_bytes(path.read_bytes())
            if message["To"] == PARENT:
                body = message.get_payload(decode=True).decode()  # type: ignore[union-attr]
                found = re.search(r"http://\S+(/parental-consent/\S+)", body)
                if found:
                    return found.group(1)
        raise AssertionError("no link mailed to the parent")

    def answer(self, link: str, **form: Any) -> Any:
        consent_id, token = re.fullmatch(r"/parental-consent/(\S+)\?token=(\S+)", link).groups()  # type: ignore[union-attr]
        return self.client.post(
            f"/parental-consent/{consent_id}",
            data={"token": token, **form},
            follow_redirects=False,
        )

    def kept(self, identity: str) -> bool:
        """Whether the identity is anywhere in the store's bytes or tables (or the outbox)."""
        scanner = ForensicScanner(self.charter.store.engine, vault=self.charter.store.vault)
        return not scanner.scan([identity]).clean


def children_manifest(path: Path) -> None:
    """The test manifest, its support desk also offering a newsletter, and advertising that
    takes nobody under the child age; its shop host told of erasures by mail."""
    manifest = yaml.safe_load(path.read_text())
    manifest["purposes"]["ads"] = {
        "name": "Advertising",
        "description": "Ads tailored to you.",
        "data_use": "marketing.advertising",
        "legal_basis": "consent",
        "categories": ["user.contact.email"],
        "minors": "excluded",
        "notice": "Show me tailored ads.",
    }
    # Told of erasures by mail, so that an erasure needs no step done by hand.
    manifest["recipients"]["shop_host"]["notify"] = {"email": "privacy@shophost.example"}
    support = manifest["touchpoints"]["support"]
    support["purposes"] = ["support", "marketing_email", "ads"]
    support["consent_purposes"] = ["marketing_email", "ads"]
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))


SHOP = """
CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                     shipping_address TEXT);
INSERT INTO customers VALUES (1, 'kid@example.org', 'Kim'), (2, 'adult@example.org', 'Al');
INSERT INTO orders VALUES (1, 1, '1 Drum Lane'), (2, 2, '2 Bass Road');
"""


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shop the test manifest's erasures reach, holding the child and an adult."""
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(SHOP)
    monkeypatch.setenv("SHOP_DATABASE_URL", f"sqlite:///{path}")
    return path


def shop_customers(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        return [row[0] for row in connection.execute("SELECT email FROM customers ORDER BY id")]


@pytest.fixture
def site(settings: Settings, shop: Path) -> Iterator[Site]:
    children_manifest(settings.manifest)
    initialise(settings)
    clock = Clock()
    with Charter.open(settings, clock=clock) as charter:
        service = {"Authorization": f"Bearer {charter.create_token('service').token}"}
        with TestClient(create_app(settings, charter=charter)) as client:
            yield Site(client, charter, clock, service, settings)


def rows(charter: Charter, table: Any) -> int:
    with charter.store.read() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def test_a_child_without_a_parent_is_refused_and_nothing_is_kept(site: Site) -> None:
    refused = site.submit()
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "parental_consent_required"
    assert "under 18" in refused.json()["error"]["message"]
    assert site.reason() == "unknown_subject"
    adult = site.submit(
        identities={"email": "adult@example.org"}, data={"date_of_birth": "1990-06-01"}
    )
    assert adult.status_code == 201, adult.text
    assert site.reason(who="adult@example.org") == "ok"


def test_impossible_birth_dates_are_refused(site: Site) -> None:
    for born, words in (("2027-01-01", "in the future"), ("1880-01-01", "130 years")):
        answer = site.submit(data={"date_of_birth": born})
        assert answer.status_code == 422
        assert words in answer.json()["error"]["message"]


def test_a_use_closed_to_children_is_refused_even_with_a_parent(site: Site) -> None:
    ads = {"purpose": "ads", "notice": "Show me tailored ads."}
    answer = site.submit(consents=[ads], parent={"email": PARENT})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "child_not_allowed"
    assert rows(site.charter, parental_consents) == 0


def test_the_parent_is_written_to_in_their_language(site: Site) -> None:
    asked = site.submit(parent={"email": PARENT, "name": "Pat", "language": "es-MX"})
    assert asked.status_code == 202, asked.text
    expires = dt.datetime.fromisoformat(asked.json()["expires_at"])
    [mail] = [
        m
        for m in (
            email.message_from_bytes(p.read_bytes()) for p in site.settings.outbox_dir.glob("*.eml")
        )
        if m["To"] == PARENT
    ]
    assert mail["Content-Language"] == "es"
    body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert body.startswith("Estimado/a Pat:\n\n")
    assert "Para aceptar o rechazar, abra este enlace" in body
    assert f"Es válido hasta el {expires.day} de " in body and f" de {expires.year}." in body
    assert "El equipo de privacidad de Example Group" in body
    assert site.link().startswith("/parental-consent/")  # the same link, whatever the language

    site.submit(
        identities={"email": "kid2@example.org"}, parent={"email": PARENT, "language": "sv"}
    )
    newest = max(site.settings.outbox_dir.glob("*.eml"))
    english = email.message_from_bytes(newest.read_bytes())  # Swedish is not offered
    assert english["Content-Language"] == "en"
    assert "It works until" in english.get_payload(decode=True).decode()  # type: ignore[union-attr]


def test_the_parent_confirms_by_email_and_the_service_keeps_the_submission_once(
    site: Site,
) -> None:
    asked = site.submit(parent={"email": PARENT, "name": "Pat"})
    assert asked.status_code == 202, asked.text
    pending = asked.json()
    assert pending["status"] == "awaiting_parental_consent"
    assert pending["purposes"] == ["support"]
    consent_id = pending["parental_consent_id"]
    # Nothing of the child is kept: not the e-mail, not the message, not a keyed hash of them.
    assert not site.kept(KID)
    assert site.reason() == "unknown_subject"

    status = site.client.get(f"/v1/parental-consents/{consent_id}", headers=site.service)
    assert status.json()["status"] == "pending"
    early = site.submit(parental_consent=consent_id)
    assert early.json()["error"]["code"] == "parental_consent_pending"

    link = site.link()
    page = site.client.get(link)
    assert page.status_code == 200
    assert "Someone under 18 wants to use Customer support of Acme" in page.text
    assert "Marketing emails" in page.text  # offered, unticked
    assert "Advertising" not in page.text  # closed to children: never offered
    assert site.client.get(link).status_code == 200  # opening it twice changes nothing
    assert (
        site.client.get(f"/v1/parental-consents/{consent_id}", headers=site.service).json()[
            "status"
        ]
        == "pending"
    )

    unticked = site.answer(link, action="confirm")
    assert unticked.status_code == 422
    assert "parent or legal guardian" in unticked.text
    site.clock.now += dt.timedelta(hours=2)
    confirmed_at = site.clock.now
    agreed = site.answer(link, action="confirm", guardian="yes", consents=["marketing_email"])
    assert agreed.status_code == 303
    assert "done=confirmed" in agreed.headers["location"]
    assert site.answer(link, action="confirm", guardian="yes").status_code == 422  # once

    site.clock.now += dt.timedelta(hours=1)
    newsletter = {"purpose": "marketing_email", "notice": "Send me news and offers by email."}
    kept = site.submit(parental_consent=consent_id, consents=[newsletter])
    assert kept.status_code == 201, kept.text
    assert site.reason() == "ok"
    assert site.reason("marketing_email") == "ok"
    sibling = site.submit(identities={"email": "sibling@example.org"}, parental_consent=consent_id)
    assert sibling.json()["error"]["code"] == "parental_consent_used"  # one consent, one child

    with site.charter.store.read() as connection:
        events = connection.execute(
            select(
                consent_events.c.purpose,
                consent_events.c.channel,
                consent_events.c.method,
                consent_events.c.occurred_at,
                consent_events.c.action,
            ).order_by(consent_events.c.id)
        ).all()
    parental = [e for e in events if e.channel == "parent"]
    assert {(e.purpose, e.method, e.action) for e in parental} == {
        ("support", "parental_email", "given"),
        ("marketing_email", "parental_email", "given"),
    }
    assert all(e.occurred_at.replace(tzinfo=dt.UTC) == confirmed_at for e in parental)

    # Later submissions of the child need no new consent for what the parent allowed.
    later = site.submit(data={"message": "Still squeaks."})
    assert later.status_code == 201, later.text
    service_view = site.client.get(f"/v1/parental-consents/{consent_id}", headers=site.service)
    assert service_view.json()["status"] == "used"
    assert service_view.json()["allowed_consents"] == ["marketing_email"]


def test_the_parent_reviews_withdraws_and_deletes(site: Site, shop: Path) -> None:
    consent_id = site.submit(parent={"email": PARENT}).json()["parental_consent_id"]
    link = site.link()
    site.answer(link, action="confirm", guardian="yes")
    assert site.submit(parental_consent=consent_id).status_code == 201

    review = site.client.get(link)
    assert KID in review.text and BORN in review.text and "My drum pad squeaks." in review.text

    assert site.answer(link, action="withdraw").status_code == 303
    assert site.reason() == "child_without_parental_consent"
    assert (
        site.client.get(f"/v1/parental-consents/{consent_id}", headers=site.service).json()[
            "status"
        ]
        == "withdrawn"
    )

    assert KID in shop_customers(shop)
    unsure = site.answer(link, action="delete")
    assert unsure.status_code == 422
    assert site.kept(KID)
    deleted = site.answer(link, action="delete", sure="yes")
    assert deleted.status_code == 200, deleted.text
    assert "data is deleted." in deleted.text and "account is cancelled" in deleted.text
    assert KID not in shop_customers(shop)  # every system, at once
    assert site.reason() == "unknown_subject"
    assert rows(site.charter, parental_consents) == 0  # went with the child's subject
    assert site.client.get(link).status_code == 404
    site.charter.outbox.deliver()
    assert not site.kept(KID)
    with site.charter.store.read() as connection:
        filed = connection.execute(
            select(audit_events.c.actor, audit_events.c.details).where(
                audit_events.c.action == "request.filed"
            )
        ).one()
    assert filed.actor == "parent"
    assert filed.details["reason"] == "parent_deletion"


def test_a_refusal_or_silence_deletes_the_parents_address(site: Site) -> None:
    first = site.submit(parent={"email": PARENT}).json()["parental_consent_id"]
    refused = site.answer(site.link(), action="refuse")
    assert refused.status_code == 200
    assert "We deleted your address" in refused.text
    gone = site.client.get(f"/v1/parental-consents/{first}", headers=site.service)
    assert gone.status_code == 404
    assert site.submit(parental_consent=first).json()["error"]["code"] == (
        "unknown_parental_consent"
    )

    second = site.submit(parent={"email": PARENT}).json()["parental_consent_id"]
    site.clock.now += dt.timedelta(days=13)
    assert site.charter.parents.expire() == 0
    site.clock.now += dt.timedelta(days=1)
    assert site.charter.parents.expire() == 1
    assert (
        site.client.get(f"/v1/parental-consents/{second}", headers=site.service).status_code == 404
    )
    assert rows(site.charter, parental_consents) == 0


def test_a_wrong_or_foreign_link_opens_nothing(site: Site) -> None:
    site.submit(parent={"email": PARENT})
    link = site.link()
    wrong = re.sub(r"token=\S+", "token=not-the-token", link)
    assert site.client.get(wrong).status_code == 404
    assert site.answer(wrong, action="confirm", guardian="yes").status_code == 404
    consent_id = link.split("/")[2].split("?")[0]
    assert site.client.get(f"/v1/parental-consents/{consent_id}").status_code == 401
    staff = {"Authorization": f"Bearer {site.charter.create_token('support').token}"}
    assert site.client.get(f"/v1/parental-consents/{consent_id}", headers=staff).status_code == 403
    # A service cannot record a parent's consent by itself.
    forged = site.client.post(
        "/v1/consents",
        json={
            "brand": "acme",
            "purpose": "marketing_email",
            "action": "give",
            "identities": {"email": KID},
            "notice": "Send me news",
            "method": "parental_email",
        },
        headers=site.service,
    )
    assert forged.status_code == 422
    assert forged.json()["error"]["code"] == "parental_consent_by_email_only"


def test_staff_cancel_an_improper_registration_at_once(site: Site, shop: Path) -> None:
    # A child who registered as an adult, found out later.
    lied = site.submit(data={"message": "hi", "date_of_birth": "1990-01-01"})
    assert lied.status_code == 201
    assert KID in shop_customers(shop)
    body = {"brand": "acme", "identities": {"email": KID}, "note": "The mother wrote to us."}
    support = {"Authorization": f"Bearer {site.charter.create_token('support').token}"}
    assert (
        site.client.post("/v1/children/cancellations", json=body, headers=support).status_code
        == 403
    )
    officer = {"Authorization": f"Bearer {site.charter.create_token('privacy_officer').token}"}
    nobody = {**body, "identities": {"email": "nobody@example.org"}}
    missing = site.client.post("/v1/children/cancellations", json=nobody, headers=officer)
    assert missing.status_code == 404
    done = site.client.post("/v1/children/cancellations", json=body, headers=officer)
    assert done.status_code == 200, done.text
    view = done.json()
    assert (view["type"], view["status"], view["received_via"]) == (
        "erasure",
        "completed",
        "staff_action",
    )
    assert "improper child registration: The mother wrote to us." in [
        entry["note"] for entry in view["history"]
    ]
    assert site.reason() == "unknown_subject"
    assert KID not in shop_customers(shop)
    site.charter.outbox.deliver()
    assert not site.kept(KID)
    with site.charter.store.read() as connection:
        filed = connection.execute(
            select(audit_events.c.actor, audit_events.c.details).where(
                audit_events.c.action == "request.filed"
            )
        ).one()
    assert filed.actor.startswith("token:")
    assert filed.details["reason"] == "improper_child_registration"
    assert "mother" not in str(filed.details)
