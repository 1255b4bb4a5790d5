"""The mail catalogues (services/mail_locales): every language has English's keys with the same
placeholders, so that no mail can fail to render; dates and periods read as the language
writes them."""

from __future__ import annotations

import datetime as dt
import json
import string
from pathlib import Path

import pytest

from charter.domain.requests import RequestType
from charter.manifest.loader import load_manifest
from charter.manifest.models import LegalBasis, RetentionAction
from charter.services.mail_language import texts_for
from charter.services.mail_texts import FOLDER, MailTexts, available

LANGUAGES = sorted(available())
EXAMPLE = Path(__file__).parents[2] / "examples" / "musicgroup" / "charter.yaml"


def _catalogue(language: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((FOLDER / f"{language}.json").read_text("utf-8"))
    return loaded


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_the_group_s_languages_have_mail_texts() -> None:
    assert {"en", "de", "fr", "es", "ja"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_has_the_english_keys_and_placeholders(language: str) -> None:
    english, other = _catalogue("en"), _catalogue(language)
    assert other.keys() == english.keys()
    for key, text in english.items():
        if isinstance(text, str):
            translated = other[key]
            assert isinstance(translated, str) and translated.strip(), key
            assert _placeholders(translated) == _placeholders(text), key
    months = other["months"]
    assert isinstance(months, list) and len(months) == 12 and all(months)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_keys_the_code_builds_exist_in_every_language(language: str) -> None:
    catalogue = _catalogue(language)
    built = [f"request.what.{kind.value}" for kind in RequestType]
    built += [f"source.basis.{basis.value}" for basis in LegalBasis]
    built += [f"source.action.{action.value}" for action in RetentionAction]
    assert [key for key in built if key not in catalogue] == []


@pytest.mark.parametrize(
    ("language", "day", "expected"),
    [
        ("en", 12, "12 March 2026"),
        ("en", 5, "05 March 2026"),  # English as Charter always wrote it
        ("de", 12, "12. März 2026"),
        ("de", 5, "5. März 2026"),
        ("fr", 12, "12 mars 2026"),
        ("es", 12, "12 de marzo de 2026"),
        ("ja", 12, "2026年3月12日"),
    ],
)
def test_dates_read_as_the_language_writes_them(language: str, day: int, expected: str) -> None:
    moment = dt.datetime(2026, 3, day, 23, 59, tzinfo=dt.UTC)
    assert MailTexts(language).date(moment) == expected


@pytest.mark.parametrize(
    ("language", "period", "expected"),
    [
        ("en", "P1Y6M", "1 year and 6 months"),
        ("en", "P3Y", "3 years"),
        ("en", "P1Y2M3D", "1 year, 2 months and 3 days"),
        ("de", "P1Y6M", "1 Jahr und 6 Monate"),
        ("fr", "P2Y", "2 ans"),
        ("es", "P1M", "1 mes"),
        ("ja", "P1Y6M", "1年と6か月"),
        ("de", "PT0S", "keine Zeit"),
    ],
)
def test_periods_in_words(language: str, period: str, expected: str) -> None:
    assert MailTexts(language).duration(period) == expected


def test_a_language_without_texts_falls_back_to_english() -> None:
    texts = MailTexts("it")
    assert texts.language == "en"
    assert texts("breach.hello") == "Hello,"


def test_sonora_voice_writes_in_german_unless_the_person_s_language_is_known() -> None:
    manifest = load_manifest(EXAMPLE)
    assert manifest.brands["sonora_voice"].default_language == "de"
    assert texts_for(manifest, None, brand="sonora_voice").language == "de"
    assert texts_for(manifest, None, brand="sonora_voice", recorded="fr").language == "fr"
    assert texts_for(manifest, None, brand="sonora_voice", requested="it").language == "de"
    others = [key for key, brand in manifest.brands.items() if brand.default_language == "en"]
    assert others and texts_for(manifest, None, brand=others[0]).language == "en"
