"""Every mail to a person is in their language (GDPR Art. 12(1)), over HTTP on SQLite and
PostgreSQL: the language of the request it answers, else the person's latest recorded language
(a consent given in French), else the brand's default (Zeta writes in German), else English;
only languages Charter has texts for and the group chose (``cookie_banner.languages``)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from fixtures.sources import Clock, sources_manifest

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter

ANN, BEN, CARL = "ann@example.org", "ben@example.org", "carl@example.org"
NEWSLETTER = "Send me news and offers by email. You can unsubscribe at any time."
LOOPWORKS = {"partner": "loopworks", "agreement": "LW-2024-DSA-01"}
DE_MONTHS = ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August"]
DE_MONTHS += ["September", "Oktober", "November", "Dezember"]


@dataclass
class World:
    client: TestClient
    charter: Charter
    clock: Clock
    outbox: Path
    tokens: dict[str, dict[str, str]]

    def mails(self, to: str) -> list[EmailMessage]:
        while self.charter.outbox.deliver():
            pass
        found: list[EmailMessage] = [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(self.outbox.glob("*.eml"))
        ]
        return [m for m in found if m["To"] == to]

    def file(self, who: str, **body: Any) -> dict[str, Any]:
        payload = {"type": "erasure", "brand": "acme", "identities": {"email": who}, **body}
        answer = self.client.post("/v1/requests", json=payload)
        assert answer.status_code == 202, answer.text
        return dict(answer.json())

    def consent(self, who: str, brand: str, language: str) -> None:
        answer = self.client.post(
            "/v1/consents",
            json={
                "brand": brand,
                "identities": {"email": who},
                "purpose": "marketing_email",
                "action": "give",
                "notice": NEWSLETTER,
                "language": language,
            },
            headers=self.tokens["service"],
        )
        assert answer.status_code == 201, answer.text


def text_of(message: EmailMessage) -> str:
    return str(message.get_content())


def subject_of(message: EmailMessage) -> str:
    # A long subject is folded right after "Subject:"; unfolding leaves the space.
    return str(message["Subject"]).strip()


@pytest.fixture
def manifest_path(tmp_path: Path) -> Path:
    """The partner-sources test manifest, with Zeta Sound writing in German by default."""
    path = sources_manifest(tmp_path / "charter.yaml")
    manifest = yaml.safe_load(path.read_text())
    manifest["brands"]["zeta"]["default_language"] = "de"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return path


def open_world(settings: Settings) -> Iterator[World]:
    initialise(settings)
    clock = Clock()
    with Charter.open(settings, clock=clock) as charter:
        tokens = {
            role: {"Authorization": f"Bearer {charter.create_token(role).token}"}
            for role in ("privacy_officer", "service")
        }
        with TestClient(create_app(settings, charter=charter)) as client:
            yield World(client, charter, clock, settings.outbox_dir, tokens)


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    yield from open_world(settings)


def test_a_request_filed_in_german_is_answered_in_german(world: World) -> None:
    filed = world.file(ANN, language="de-DE")
    due = dt.datetime.fromisoformat(filed["due_at"])
    (received,) = world.mails(ANN)
    assert received["Content-Language"] == "de"
    assert subject_of(received) == "Ihre Datenschutzanfrage an Acme Audio: Ihr Code"
    text = text_of(received)
    assert "Sie betrifft die Löschung Ihrer personenbezogenen Daten." in text
    assert (
        f"Wir antworten spätestens bis zum {due.day}. {DE_MONTHS[due.month - 1]} {due.year}."
        in text
    )
    assert "Das Datenschutzteam von Example Group" in text
    code = re.search(r"^\s+(\d{6})$", text, re.M)
    assert code is not None

    verified = world.client.post(f"/v1/requests/{filed['id']}/verify", json={"code": code.group(1)})
    assert verified.status_code == 200, verified.text
    confirmed = world.mails(ANN)[-1]
    assert subject_of(confirmed) == "Ihre Datenschutzanfrage an Acme Audio ist bestätigt"
    assert "Unser Datenschutzteam prüft sie, bevor wir sie ausführen." in text_of(confirmed)

    refused = world.client.post(
        f"/v1/requests/{filed['id']}/reject",
        json={"reasons": "Ein Konto mit dieser Adresse gibt es nicht."},
        headers=world.tokens["privacy_officer"],
    )
    assert refused.status_code == 200, refused.text
    rejected = world.mails(ANN)[-1]
    assert rejected["Content-Language"] == "de"
    assert "nicht ausführen: Ein Konto mit dieser Adresse gibt es nicht." in text_of(rejected)
    assert "bei einer Datenschutz-Aufsichtsbehörde zu beschweren" in text_of(rejected)


def test_an_unsupported_language_falls_back_to_the_brand_s_then_english(world: World) -> None:
    world.file(ANN, brand="zeta", language="it")
    (zeta,) = world.mails(ANN)
    assert zeta["Content-Language"] == "de"
    assert subject_of(zeta) == "Ihre Datenschutzanfrage an Zeta Sound: Ihr Code"

    world.file(BEN, language="it")  # Acme has no default language of its own: English
    (acme,) = world.mails(BEN)
    assert acme["Content-Language"] == "en"
    assert subject_of(acme) == "Your privacy request to Acme Audio: your code"
    assert "We received your request for the erasure of your personal data" in text_of(acme)


def test_the_person_s_latest_recorded_language_is_used(world: World) -> None:
    world.consent(ANN, "acme", "de")
    world.clock.now += dt.timedelta(minutes=1)
    world.consent(ANN, "acme", "fr-FR")  # the latest: French

    # The Art. 14 notice about data a partner sent is in French ...
    sent = world.client.post(
        "/v1/touchpoints/partner_data/submissions",
        json={
            "brand": "acme",
            "identities": {"email": ANN},
            "data": {"name": "Ann Example"},
            "source": LOOPWORKS,
        },
        headers=world.tokens["service"],
    )
    assert sent.status_code == 201, sent.text
    (notice,) = world.mails(ANN)
    assert notice["Content-Language"] == "fr"
    assert subject_of(notice) == (
        "Acme Audio : des données vous concernant que nous avons reçues de Loopworks Software Ltd"
    )
    text = text_of(notice)
    for said in (
        "a reçu de tiers des données personnelles vous concernant",
        "(article 14 du RGPD)",
        "- de Loopworks Software Ltd, en vertu de l'accord LW-2024-DSA-01, le 29 novembre 2026",
        "Customer support: ",  # the manifest's purpose name, as written
        "3 ans après",  # the retention period in French words
        "autorité de contrôle de la protection des données",
        "/privacy",
    ):
        assert said in text, said

    # ... and so is a request filed with no language; one filed in German is in German.
    world.file(ANN)
    assert world.mails(ANN)[-1]["Content-Language"] == "fr"
    world.file(ANN, language="de")
    assert world.mails(ANN)[-1]["Content-Language"] == "de"


def test_breach_notices_speak_each_person_s_language(world: World) -> None:
    world.charter.submit(
        "marketing_signup",
        brand="zeta",
        identities={"email": ANN},
        data={"name": "Ann Adler"},
    )
    world.charter.submit(
        "marketing_signup", brand="acme", identities={"email": BEN}, data={"name": "Ben Brandt"}
    )
    world.charter.submit(
        "marketing_signup", brand="acme", identities={"email": CARL}, data={"name": "Carl Cruz"}
    )
    world.consent(CARL, "acme", "ja")
    officer = world.tokens["privacy_officer"]
    made = world.client.post(
        "/v1/breaches",
        json={
            "title": "Newsletter list exposed",
            "description": "The list of newsletter names was readable from the internet.",
            "aware_at": (world.clock.now - dt.timedelta(hours=2)).isoformat(),
            "systems": ["charter"],
            "categories": ["user.name"],
            "risk": "high_risk",
            "risk_reasons": "Names readable by anyone who found the link.",
            "consequences": "Unwanted messages.",
            "measures": "Access closed.",
        },
        headers=officer,
    )
    assert made.status_code == 201, made.text
    told = world.client.post(
        f"/v1/breaches/{made.json()['id']}/notify-people",
        json={"advice": "Be wary of messages using your name."},
        headers=officer,
    )
    assert told.status_code == 200, told.text
    assert told.json()["messages"] == 3

    (ann,) = world.mails(ANN)  # Zeta's customer, no language recorded: Zeta's German
    assert ann["Content-Language"] == "de"
    assert subject_of(ann) == (
        "Wichtig: ein Sicherheitsvorfall bei Zeta Sound, der Ihre Daten betrifft"
    )
    text = text_of(ann)
    assert "Wir haben am 29. November 2026 davon erfahren." in text
    assert "Was Sie tun können\nBe wary of messages using your name." in text  # staff's words
    assert "nicht um Werbung" in text
    (ben,) = world.mails(BEN)  # Acme's customer: English
    assert ben["Content-Language"] == "en"
    assert "We became aware of it on 29 November 2026." in text_of(ben)
    (carl,) = world.mails(CARL)  # his consent was given in Japanese
    assert carl["Content-Language"] == "ja"
    assert "当社は2026年11月29日にこの事象を認識しました。" in text_of(carl)

    preview = world.client.get(
        f"/v1/breaches/{made.json()['id']}/people-notice?brand=acme&language=fr",
        headers=officer,
    )
    assert preview.status_code == 200
    assert preview.text.startswith("Subject: Important : un incident de sécurité")


def test_a_group_that_chose_english_only_writes_in_english(
    settings: Settings, manifest_path: Path
) -> None:
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest.setdefault("cookie_banner", {})["languages"] = ["en"]
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    for world in open_world(settings):
        world.file(ANN, brand="zeta", language="de")
        (mail,) = world.mails(ANN)
        assert mail["Content-Language"] == "en"
        assert subject_of(mail) == "Your privacy request to Zeta Sound: your code"
