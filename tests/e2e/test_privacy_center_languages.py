"""The privacy center speaks the person's language (GDPR Art. 12(1)), over HTTP on SQLite and
PostgreSQL: the language they choose with the switcher (``?lang=``), else their browser's
``Accept-Language``, else the brand's default (Zeta Sound writes in German), else English. A
request is filed in the page's language, so its mails and its access report follow."""

from __future__ import annotations

import email
import email.policy
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from html import unescape
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from charter.api import create_app
from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter

ANN = "ann@example.org"
REQUEST = re.compile(r"/privacy/requests/([0-9a-f-]{36})/verify")


@pytest.fixture
def manifest_path(manifest_path: Path) -> Path:
    """The minimal manifest, with Zeta Sound addressing people in German by default (and no
    shop to reach: an access request is answered from Charter's own store)."""
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest["brands"]["zeta"]["default_language"] = "de"
    manifest.pop("systems")
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True))
    return manifest_path


@dataclass
class Site:
    client: TestClient
    charter: Charter
    outbox: Path

    def mails(self) -> list[EmailMessage]:
        while self.charter.outbox.deliver():
            pass
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(self.outbox.glob("*.eml"))
        ]

    def file(self, form: dict[str, str], **headers: str) -> tuple[str, str]:
        """File a request with the form; its id and the page that answers."""
        filed = self.client.post("/privacy/requests", data=form, headers=headers)
        assert filed.status_code == 202, filed.text
        found = REQUEST.search(filed.text)
        assert found is not None
        return found.group(1), filed.text

    def code(self) -> str:
        found = re.search(r"^\s+(\d{6})$", str(self.mails()[-1].get_content()), re.M)
        assert found is not None
        return found.group(1)


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    initialise(settings)
    with (
        Charter.open(settings) as charter,
        TestClient(create_app(settings, charter=charter), follow_redirects=False) as client,
    ):
        yield Site(client, charter, settings.outbox_dir)


def text(html: str) -> str:
    """A page's words, entities resolved, spaces collapsed (none before a full stop)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split()).replace(" .", ".")


def form_of(html: str) -> dict[str, str]:
    """The hidden fields of the page's first form, as a browser sends them."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))


def test_a_german_browser_gets_german_pages_and_files_a_german_request(site: Site) -> None:
    page = site.client.get("/privacy?brand=acme", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert page.status_code == 200
    assert '<html lang="de">' in page.text and page.headers["content-language"] == "de"
    words = text(page.text)
    assert "Was sollen wir für Sie tun?" in words
    assert "Schicken Sie mir eine Kopie meiner Daten" in words
    assert "Wir antworten spätestens innerhalb von 30 Tagen." in words
    assert "Acme Audio · Datenschutz-Center" in words  # the brand's name as written
    assert "Send my request" not in words
    # the switcher: every offered language, in its own name, a plain link to this page
    for code, name in [("en", "English"), ("fr", "Français"), ("es", "Español"), ("ja", "日本語")]:
        assert f'href="/privacy?brand=acme&amp;lang={code}" lang="{code}"' in page.text
        assert name in words
    assert form_of(page.text) == {"brand": "acme", "lang": "de"}

    request_id, answer = site.file(
        {**form_of(page.text), "type": "erasure", "email": ANN},
        **{"Accept-Language": "de-DE,de;q=0.9"},
    )
    assert "Sehen Sie in Ihre E-Mails" in text(answer)
    (mail,) = site.mails()
    assert mail["Content-Language"] == "de"
    assert str(mail["Subject"]).strip() == "Ihre Datenschutzanfrage an Acme Audio: Ihr Code"
    code = site.code()

    # The mail's link, opened anywhere (no Accept-Language), is in the request's language.
    link = site.client.get(f"/privacy/verify?request={request_id}&code={code}")
    assert '<html lang="de">' in link.text and "Anfrage bestätigen" in text(link.text)
    confirmed = site.client.post(
        f"/privacy/requests/{request_id}/verify", data={**form_of(link.text), "code": code}
    )
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"/privacy/requests/{request_id}"
    status = site.client.get(confirmed.headers["location"])
    assert status.status_code == 200 and '<html lang="de">' in status.text
    words = text(status.text)
    assert "Sie haben die Anfrage bestätigt." in words and "Wann (UTC)" in words
    due = site.charter.requests.view(request_id).due_at
    assert re.search(rf"Wir antworten bis {due.day}\. \w+ {due.year}\.", words), words
    assert site.mails()[-1]["Content-Language"] == "de"  # the confirmation too


def test_the_person_s_choice_wins_over_the_browser(site: Site) -> None:
    german = {"Accept-Language": "de"}
    page = site.client.get("/privacy?brand=acme&lang=fr", headers=german)
    assert '<html lang="fr">' in page.text
    assert "Que souhaitez-vous que nous fassions ?" in text(page.text)
    assert 'aria-current="true"><strong>Français</strong>' in page.text
    request_id, answer = site.file({**form_of(page.text), "type": "access", "email": ANN}, **german)
    assert "Consultez vos e-mails" in text(answer)
    (mail,) = site.mails()
    assert mail["Content-Language"] == "fr"
    # the verification page can switch too; the switch goes on to the status page
    link = site.client.get(f"/privacy/verify?request={request_id}&lang=es")
    assert '<html lang="es">' in link.text and "Confirme su solicitud" in text(link.text)
    assert f'href="/privacy/verify?request={request_id}&amp;lang=ja"' in link.text
    confirmed = site.client.post(
        f"/privacy/requests/{request_id}/verify",
        data={**form_of(link.text), "code": site.code()},
        headers=german,
    )
    assert confirmed.headers["location"] == f"/privacy/requests/{request_id}?lang=es"
    status = site.client.get(confirmed.headers["location"], headers=german)
    assert "Ha confirmado la solicitud." in text(status.text)
    again = site.client.get(f"/privacy/requests/{request_id}", headers=german)
    assert "Vous avez confirmé la demande." in text(again.text)  # the request's own language


@pytest.mark.parametrize(
    ("brand", "headers", "query", "expected", "words"),
    [
        ("zeta", {"Accept-Language": "pt-BR, it;q=0.8"}, "", "de", "Ihre E-Mail-Adresse"),
        ("zeta", {}, "&lang=tlh", "de", "Ihre E-Mail-Adresse"),
        ("acme", {"Accept-Language": "pt-BR, it;q=0.8"}, "", "en", "Your e-mail address"),
        ("acme", {"Accept-Language": "pt-BR, ja;q=0.1"}, "", "ja", "メールアドレス"),
        ("zeta", {"Accept-Language": "de;q=0, en"}, "", "en", "Your e-mail address"),
    ],
)
def test_an_unsupported_language_falls_back(
    site: Site, brand: str, headers: dict[str, str], query: str, expected: str, words: str
) -> None:
    page = site.client.get(f"/privacy?brand={brand}{query}", headers=headers)
    assert page.status_code == 200
    assert f'<html lang="{expected}">' in page.text and words in text(page.text)


def test_mistakes_are_explained_in_the_person_s_language(site: Site) -> None:
    french = {"Accept-Language": "fr"}
    no_type = site.client.post(
        "/privacy/requests", data={"brand": "acme", "email": ANN}, headers=french
    )
    assert no_type.status_code == 422
    assert "Choisissez ce que vous souhaitez que nous fassions." in text(no_type.text)
    bad_mail = site.client.post(
        "/privacy/requests",
        data={"brand": "acme", "type": "erasure", "email": "not-an-address"},
        headers=french,
    )
    assert bad_mail.status_code == 422
    assert "Nous ne pouvons pas écrire à cette adresse e-mail" in text(bad_mail.text)
    request_id, _ = site.file({"brand": "acme", "type": "erasure", "email": ANN}, **french)
    wrong = site.client.post(f"/privacy/requests/{request_id}/verify", data={"code": "000000"})
    assert wrong.status_code == 422 and '<html lang="fr">' in wrong.text
    assert "Le code est erroné" in text(wrong.text)
    elsewhere = TestClient(site.client.app).get(f"/privacy/requests/{request_id}")
    assert elsewhere.status_code == 401
    assert "Ouvrez cette page dans le navigateur" in text(elsewhere.text)
    assert site.charter.requests.view(request_id).status == "awaiting_verification"


def test_the_package_of_a_request_filed_in_french_has_a_french_report(site: Site) -> None:
    page = site.client.get("/privacy?brand=acme&lang=fr")
    request_id, _ = site.file({**form_of(page.text), "type": "access", "email": ANN})
    confirmed = site.client.post(
        f"/privacy/requests/{request_id}/verify", data={"code": site.code()}
    )
    assert confirmed.headers["location"] == f"/privacy/requests/{request_id}"
    assert site.charter.rights.run(request_id) == "completed"
    status = site.client.get(f"/privacy/requests/{request_id}")
    words = text(status.text)
    assert "Terminée." in words and "Télécharger vos données" in words
    download = site.client.get(f"/privacy/requests/{request_id}/package")
    assert download.status_code == 200
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        names = archive.namelist()
        report = archive.read("report.html").decode()
        document = json.loads(archive.read("data.json"))
    assert names[:2] == ["report.html", "data.json"]  # file names are a format: they stay
    assert '<html lang="fr">' in report
    words = text(report)
    assert "Vos données personnelles chez Example Group" in words
    assert "Les données que nous détenons sur vous" in words and "Vos droits" in words
    assert "What data we hold about you" not in words
    assert {"schema", "request", "charter", "information"} <= document.keys()  # keys stay
    assert document["information"]["automated_decision_making"]["text"].startswith(
        "Nous ne prenons"
    )
    assert site.mails()[-1]["Content-Language"] == "fr"  # the completion mail too
