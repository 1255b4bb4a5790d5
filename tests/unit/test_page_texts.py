"""The page catalogues (services/page_locales): the privacy center's and the access report's
texts have English's keys with the same placeholders in every language, every key the code and
the templates use exists, and a text renders escaped but keeps the markup a template gives it."""

from __future__ import annotations

import datetime as dt
import json
import re
import string
from pathlib import Path

import pytest
from markupsafe import Markup

from charter.domain.consent import ConsentAction
from charter.domain.disclosures import DisclosureKind
from charter.domain.requests import RequestStatus, RequestType
from charter.manifest.models import (
    Art14Ground,
    CountedFrom,
    LegalBasis,
    RecipientKind,
    RetentionAction,
    Source,
    TransferMechanism,
)
from charter.services import mail_texts
from charter.services.page_texts import FOLDER, NAMES, HtmlTexts, PageTexts, available

LANGUAGES = sorted(available())
TEMPLATES = [
    *(Path(mail_texts.__file__).parent / "templates").glob("report.html.j2"),
    *(Path(mail_texts.__file__).parents[1] / "web" / "templates").glob("privacy_*.html.j2"),
]
MARCH_5 = dt.datetime(2026, 3, 5, 9, 7, tzinfo=dt.UTC)


def _catalogue(language: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((FOLDER / f"{language}.json").read_text("utf-8"))
    return loaded


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_pages_are_in_the_languages_mails_are_in_and_each_has_a_name() -> None:
    assert available() == mail_texts.available()
    assert set(LANGUAGES) <= NAMES.keys()


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_the_english_keys_and_placeholders(language: str) -> None:
    english, other = _catalogue("en"), _catalogue(language)
    assert list(other) == list(english)  # the same keys, in the same order (easy to compare)
    for key, text in english.items():
        assert other[key].strip(), key
        assert _placeholders(other[key]) == _placeholders(text), key


def test_a_page_text_does_not_shadow_a_mail_text() -> None:
    mails = json.loads((mail_texts.FOLDER / "en.json").read_text("utf-8"))
    assert set(_catalogue("en")) & set(mails) == set()


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_keys_the_code_builds_exist_in_every_language(language: str) -> None:
    catalogue = _catalogue(language)
    built = [f"privacy.type.{t.value}{hint}" for t in RequestType for hint in ("", ".hint")]
    built += [f"privacy.status.{s.value}" for s in RequestStatus]
    built += [f"privacy.error.too_many.{n}" for n in ("one", "other")]
    built += [f"report.basis.{b.value}" for b in LegalBasis]
    built += [f"report.kind.{k.value}" for k in RecipientKind]
    built += [f"report.source.{s.value}" for s in Source]
    built += [f"report.mechanism.{m.value}" for m in TransferMechanism]
    built += [f"report.retention.{c.value}.{a.value}" for c in CountedFrom for a in RetentionAction]
    built += [f"report.consent.action.{a.value}" for a in ConsentAction]
    built += [f"report.disclosure.{k.value}" for k in DisclosureKind]
    built += [f"report.sources.exemption.{g.value}" for g in Art14Ground]
    assert [key for key in built if key not in catalogue] == []


def test_every_key_a_template_names_exists() -> None:
    catalogue = _catalogue("en")
    named = {
        key
        for template in TEMPLATES
        for key in re.findall(r"""\bt(?:\.count)?\(\s*["']([a-z_.]+)["']""", template.read_text())
    }
    assert len(TEMPLATES) == 5 and len(named) > 150
    named = {k for k in named if not k.endswith(".")}  # a key the template completes: below
    assert sorted(k for k in named if k not in catalogue and f"{k}.one" not in catalogue) == []
    rights = ["access", "rectification", "erasure", "restriction", "objection", "portability"]
    built = [
        f"report.right.{r}{text}" for r in [*rights, "withdraw_consent"] for text in ("", ".text")
    ]
    built += ["report.intro.access", "report.rights.how", "report.complain.us", "report.copy"]
    assert [key for key in built if key not in catalogue] == []


@pytest.mark.parametrize(
    ("language", "day", "moment", "password"),
    [
        ("en", "5 March 2026", "5 March 2026, 09:07", "A password is set"),
        ("de", "5. März 2026", "5. März 2026, 09:07", "Ein Passwort ist gesetzt"),
        ("fr", "5 mars 2026", "5 mars 2026 à 09:07", "Un mot de passe est défini"),
        ("es", "5 de marzo de 2026", "5 de marzo de 2026, a las 09:07", "Hay una contraseña"),
        ("ja", "2026年3月5日", "2026年3月5日 09:07", "パスワードが設定されています"),
    ],
)
def test_dates_and_texts_read_as_the_language_writes_them(
    language: str, day: str, moment: str, password: str
) -> None:
    texts = PageTexts(language)
    assert texts.language == language
    assert texts.date(MARCH_5) == day
    assert texts.moment(MARCH_5) == moment
    assert texts("report.password").startswith(password)


def test_a_language_without_texts_is_english() -> None:
    assert PageTexts("pt").language == "en"
    assert PageTexts("pt")("privacy.verify.code") == "Code"


def test_markup_escapes_values_and_texts_but_keeps_the_template_s_markup() -> None:
    t = HtmlTexts(PageTexts("en"))
    link = Markup('<a href="mailto:dpo@example.org">dpo@example.org</a>')
    assert t("privacy.footer.questions", email=link) == f"Questions? Write to {link}."
    assert t("privacy.footer.questions", email="<b>") == "Questions? Write to &lt;b&gt;."
    assert "&#34;GDPR&#34;" in t("report.intro.access")  # a text's own quotes, escaped
    assert t.count("report.data.table.caption", 1, system="Shop", table="x").endswith("1 record")
    assert t.count("report.data.table.caption", 2, system="Shop", table="x").endswith("2 records")
    assert t.known("report.disclosure.court_order", "court order") == "Court order"
    assert t.known("report.disclosure.carrier_pigeon", "carrier pigeon") == "carrier pigeon"
