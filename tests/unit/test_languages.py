"""The language of a mail to a person (charter.domain.languages): the request's, else the
person's latest recorded one, else the brand's default, else English; only offered ones."""

from __future__ import annotations

import pytest

from charter.domain.languages import FALLBACK, mail_language, offered, primary

ALL = frozenset({"en", "de", "fr", "es", "ja"})


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("de", "de"),
        ("DE", "de"),
        ("de-AT", "de"),
        ("pt_BR", "pt"),
        (" fr ", "fr"),
        ("zh-Hant-TW", "zh"),
        ("", None),
        ("deutsch", None),
        ("d", None),
        ("12", None),
        ("de;DROP", None),
        (None, None),
    ],
)
def test_a_tag_is_compared_by_its_primary_subtag(tag: str | None, expected: str | None) -> None:
    assert primary(tag) == expected


@pytest.mark.parametrize(
    ("requested", "recorded", "brand_default", "expected"),
    [
        ("de", "fr", "es", "de"),  # the request's language first
        ("de-CH", None, None, "de"),
        (None, "fr", "es", "fr"),  # then the person's latest recorded one
        (None, None, "es", "es"),  # then the brand's
        (None, None, None, "en"),  # then English
        ("it", "fr", "es", "fr"),  # not offered: the next one that is
        ("it", "pt", "de", "de"),
        ("it", "pt", "nl", "en"),
        ("not a tag", None, "ja", "ja"),
        ("", "", "", "en"),
    ],
)
def test_the_first_offered_language_wins(
    requested: str | None, recorded: str | None, brand_default: str | None, expected: str
) -> None:
    chosen = mail_language(
        requested=requested, recorded=recorded, brand_default=brand_default, offered=ALL
    )
    assert chosen == expected


def test_only_offered_languages_are_used() -> None:
    only_english = offered(["en", "de", "fr"], ["en"])
    assert only_english == {"en"}
    for requested in ("de", "fr", "en"):
        chosen = mail_language(
            requested=requested, recorded="fr", brand_default="de", offered=only_english
        )
        assert chosen == "en"


def test_offered_is_what_has_texts_and_was_chosen_and_always_english() -> None:
    assert offered(["en", "de", "fr"], ["de", "ja", "FR"]) == {"en", "de", "fr"}
    assert offered(["de", "fr"], None) == {"en", "de", "fr"}  # no choice: all with texts
    assert offered([], ["de"]) == {FALLBACK}
