"""Which language a privacy center page is in: the person's choice, their request's language,
their browser's ``Accept-Language`` (by q-value), the brand's default, English."""

from __future__ import annotations

import pytest

from charter.domain.page_languages import accepted, page_language

OFFERED = frozenset({"en", "de", "fr", "es", "ja"})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("de", ["de"]),
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", ["fr", "en", "de"]),
        ("en;q=0.2, ja", ["ja", "en"]),  # by quality, not by order
        ("es;q=0.5, de;q=0.5", ["es", "de"]),  # equal quality: the header's order
        ("de;q=0, fr", ["fr"]),  # q=0 refuses the language
        ("DE-at;Q=1", ["de"]),
        ("de;q=abc, fr;q=2, es", ["es"]),  # malformed or out-of-range qualities: ignored
        ("*, 12, -, de-", []),  # no language tags
        ("pt-BR,pt;q=0.9", ["pt"]),
    ],
)
def test_accept_language_is_read_by_quality(header: str | None, expected: list[str]) -> None:
    assert accepted(header) == expected


def choose(
    chosen: str | None = None,
    request: str | None = None,
    header: str | None = None,
    brand_default: str | None = None,
) -> str:
    return page_language(
        chosen=chosen,
        request=request,
        accept_language=header,
        brand_default=brand_default,
        offered=OFFERED,
    )


def test_the_choice_wins_then_the_request_then_the_browser_then_the_brand() -> None:
    assert choose("fr", "ja", "es", "de") == "fr"
    assert choose(None, "ja", "es", "de") == "ja"
    assert choose(None, None, "es", "de") == "es"
    assert choose(None, None, None, "de") == "de"
    assert choose() == "en"


def test_what_is_not_offered_is_passed_over() -> None:
    assert choose("pt", None, "pt-BR, it;q=0.9, fr;q=0.8", "de") == "fr"  # the first offered
    assert choose("x-klingon", "zz", "pt, it", "de") == "de"
    assert choose(None, None, "pt, it", "nl") == "en"
    assert (
        page_language(
            chosen="de", request=None, accept_language=None, brand_default=None, offered=frozenset()
        )
        == "en"
    )


def test_tags_compare_by_their_primary_subtag() -> None:
    assert choose("FR-ca") == "fr"
    assert choose(None, None, "ja-JP") == "ja"
