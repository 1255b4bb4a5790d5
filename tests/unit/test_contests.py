"""The pure rules of contests: how much of a winner's name is published, and what a sponsor
receives (``charter.domain.contests``)."""

from __future__ import annotations

import pytest

from charter.domain.contests import (
    NAME_WITHDRAWN,
    Collected,
    for_sponsor,
    published_name,
    sponsor_purposes,
    unnamed_sentence,
    winner_line,
)


@pytest.mark.parametrize(
    ("name", "rule", "published"),
    [
        ("Ann Lopez", "first_name_and_initial", "Ann L."),
        ("Ann Lopez", "full_name", "Ann Lopez"),
        ("Ann Lopez", "none", None),
        ("  Ann   Marie  Lopez ", "first_name_and_initial", "Ann L."),
        ("  Ann   Marie  Lopez ", "full_name", "Ann Marie Lopez"),
        ("Ann", "first_name_and_initial", "Ann"),
        ("Seán O'Brien", "first_name_and_initial", "Seán O."),
        ("Ann 'lopez'", "first_name_and_initial", "Ann L."),
        ("Ann 42", "first_name_and_initial", "Ann"),
        ("Ǆemal Ćosić", "first_name_and_initial", "Ǆemal Ć."),
        ("   ", "full_name", None),
        ("1234", "full_name", None),
    ],
)
def test_published_name(name: str, rule: str, published: str | None) -> None:
    assert published_name(name, rule) == published


def test_an_unknown_rule_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown winner rule"):
        published_name("Ann Lopez", "nickname")


@pytest.mark.parametrize(
    ("name", "country", "line"),
    [
        ("Ann L.", "Germany", "Ann L., Germany"),
        ("Ann L.", None, "Ann L."),
        (None, "Germany", NAME_WITHDRAWN),  # no country beside a withdrawn name
        (None, None, "Name withdrawn"),
    ],
)
def test_winner_line(name: str | None, country: str | None, line: str) -> None:
    assert winner_line(name, country) == line


def test_unnamed_sentence() -> None:
    assert unnamed_sentence(1) == (
        "1 winner was drawn; the rules do not allow their names to be published."
    )
    assert unnamed_sentence(3).startswith("3 winners were drawn;")


def test_sponsor_purposes_keep_the_touchpoints_order() -> None:
    touchpoint = ["contests", "sponsored_contests", "security_fraud"]
    assert sponsor_purposes(touchpoint, {"sponsored_contests", "marketing"}) == [
        "sponsored_contests"
    ]
    assert sponsor_purposes(touchpoint, ["security_fraud", "contests"]) == [
        "contests",
        "security_fraud",
    ]
    assert sponsor_purposes(touchpoint, ["marketing"]) == []


SPONSOR_CATEGORIES = ["user.name", "user.contact.address", "user.content.private"]


@pytest.mark.parametrize(
    ("value", "passed"),
    [
        (Collected("name", "user.name", ("contests", "sponsored_contests")), True),
        # a child category of one the sponsor receives
        (Collected("country", "user.contact.address.country", ("sponsored_contests",)), True),
        # a category the sponsor is not declared to receive
        (Collected("phone", "user.contact.phone_number", ("sponsored_contests",)), False),
        # a parent of a category it receives is more than it receives
        (Collected("contact", "user.contact", ("sponsored_contests",)), False),
        # a category it receives, collected for fraud prevention only
        (Collected("alias", "user.name", ("security_fraud",)), False),
        (Collected("entry", "user.content.private", ()), False),
    ],
    ids=lambda v: v.field if isinstance(v, Collected) else str(v),
)
def test_a_sponsor_receives_its_categories_for_its_purposes_only(
    value: Collected, passed: bool
) -> None:
    chosen = for_sponsor([value], SPONSOR_CATEGORIES, ["sponsored_contests"])
    assert chosen == ([value] if passed else [])


def test_for_sponsor_keeps_the_order_given() -> None:
    values = [
        Collected("entry", "user.content.private", ("sponsored_contests",)),
        Collected("ip", "user.device.ip_address", ("security_fraud",)),
        Collected("name", "user.name", ("sponsored_contests",)),
    ]
    chosen = for_sponsor(values, SPONSOR_CATEGORIES, ["sponsored_contests"])
    assert [c.field for c in chosen] == ["entry", "name"]
