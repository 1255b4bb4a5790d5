"""The pure rules of public content: which fields a profile shows given the person's choices
(privacy by default, Art. 25(2)), who is told of an erasure (Art. 17(2)), what a publishing
system is asked to do, and what of its answer is kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from charter.domain.errors import InvalidInput, InvalidValue, UndeclaredField
from charter.domain.publication import (
    VisibilityChoice,
    answer_summary,
    check_choices,
    erasure_mode,
    public_profile,
    republishers_to_tell,
    shown_fields,
)

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
FORUM = {
    "display_name": "public",
    "post": "public",
    "location": "choice",
    "bio": "choice",
    "date_of_birth": "private",
}


def chose(field: str, visibility: str, minutes: int = 0) -> VisibilityChoice:
    return VisibilityChoice(field, visibility, T0 + dt.timedelta(minutes=minutes), "api")


POSTED = {"display_name": "public", "post": "public"}


@pytest.mark.parametrize(
    ("choices", "shown"),
    [
        ([], POSTED),
        ([chose("location", "public")], {**POSTED, "location": "chosen"}),
        ([chose("location", "public"), chose("location", "private", 5)], POSTED),
        ([chose("location", "private", 5), chose("location", "public")], POSTED),
        ([chose("bio", "public"), chose("location", "private")], {**POSTED, "bio": "chosen"}),
        # a choice recorded for a field that is not (any longer) a choice changes nothing
        ([chose("date_of_birth", "public"), chose("post", "private")], POSTED),
    ],
)
def test_shown_fields_private_by_default_latest_choice_wins(
    choices: list[VisibilityChoice], shown: dict[str, str]
) -> None:
    assert shown_fields(FORUM, choices) == shown


def test_a_profile_shows_the_latest_value_of_shown_fields_only() -> None:
    values: list[tuple[str, Any]] = [
        ("display_name", "old name"),
        ("date_of_birth", "2001-02-03"),
        ("location", "Hamburg"),
        ("display_name", "DJ Example"),
        ("post", "Hello"),
    ]
    assert public_profile(FORUM, [], values) == {"display_name": "DJ Example", "post": "Hello"}
    assert public_profile(FORUM, [chose("location", "public")], values) == {
        "display_name": "DJ Example",
        "post": "Hello",
        "location": "Hamburg",
    }


@pytest.mark.parametrize(
    ("requested", "error", "code"),
    [
        ({"nickname": "public"}, UndeclaredField, "undeclared_field"),
        ({"post": "private"}, InvalidInput, "not_a_choice"),
        ({"date_of_birth": "public"}, InvalidInput, "not_a_choice"),
        ({"location": "friends"}, InvalidValue, "invalid_value"),
        ({}, InvalidInput, "invalid_input"),
        # one bad field refuses the whole choice
        ({"location": "public", "post": "private"}, InvalidInput, "not_a_choice"),
    ],
)
def test_only_choice_fields_take_a_choice(
    requested: dict[str, str], error: type[Exception], code: str
) -> None:
    with pytest.raises(error) as raised:
        check_choices(FORUM, requested)
    assert getattr(raised.value, "code", None) == code


def test_a_valid_choice_passes() -> None:
    check_choices(FORUM, {"location": "public", "bio": "private"})


@pytest.mark.parametrize(
    ("published", "told"),
    [
        ([], []),
        (["forum"], ["archive", "search"]),
        (["blog"], ["search"]),
        (["blog", "forum"], ["search", "archive"]),  # each once
        (["shop"], []),  # no publication there
    ],
)
def test_republishers_are_told_only_for_where_the_person_published(
    published: list[str], told: list[str]
) -> None:
    republishers = {"forum": ["archive", "search"], "blog": ["search"], "chat": ["mirror"]}
    assert republishers_to_tell(published, republishers) == told


@pytest.mark.parametrize(
    ("modes", "expected"),
    [
        ([("deidentify", "Former member")], ("deidentify", "Former member")),
        ([("delete", "Former member")], ("delete", "Former member")),
        ([("deidentify", "Ex-member"), ("delete", "Gone")], ("delete", "Ex-member")),
        ([], ("delete", "")),
    ],
)
def test_erasure_mode_the_stronger_promise_wins(
    modes: list[tuple[str, str]], expected: tuple[str, str]
) -> None:
    assert erasure_mode(modes) == expected


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        ({"deleted": 2, "deidentified": 5}, {"deleted": 2, "deidentified": 5}),
        ({"deleted": 1, "author": "DJ Example", "emails": ["x@example.org"]}, {"deleted": 1}),
        ({"done": True, "Weird Key": 3, "nested": {"n": 1}, "negative": -1}, {"done": True}),
        ({"x" * 41: 1}, {}),
        (["deleted", 2], {}),
        ("ok", {}),
        (None, {}),
    ],
)
def test_only_counts_of_the_answer_are_kept(answer: Any, kept: dict[str, Any]) -> None:
    assert answer_summary(answer) == kept
