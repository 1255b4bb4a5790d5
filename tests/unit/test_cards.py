"""Card-number detection: table of what must and must not be refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.domain.cards import contains_card_number, find_card_number, luhn_valid

CARDS = [
    "4111111111111111",
    "5500000000000004",
    "340000000000009",
    "6011000000000004",
    "3530111333300000",
    "4222222222222",
    "6304000000000000018",
]


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111111",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "my card is 4111 1111 1111 1111, please charge it",
        "order 12345 4111 1111 1111 1111",
        "card:5500000000000004.",
        "x4111111111111111y",
        "3400 000000 00009",
        "4222222222222",
        "6304000000000000018",
    ],
)
def test_card_numbers_are_found(text: str) -> None:
    assert contains_card_number(text)


@pytest.mark.parametrize(
    "text",
    [
        "4111111111111112",  # fails Luhn
        "+1 401 555 0100",
        "serial 123456789012345678901234",  # one long run: not a card
        "411111111111",  # 12 digits
        "2026-11-29",
        "4111  1111 1111 1111",  # double space is not a card separator
        "",
    ],
)
def test_other_numbers_are_not_cards(text: str) -> None:
    assert not contains_card_number(text)


def test_find_names_the_path_in_nested_json() -> None:
    body = {"data": {"notes": ["fine", "pay with 6011 0000 0000 0004"]}, "n": 1}
    assert find_card_number(body) == "data.notes[1]"
    assert find_card_number({"a": 4111111111111111}) == "a"
    assert find_card_number({"4111111111111111": "x"}) == "4111111111111111"
    assert find_card_number({"ok": True, "none": None, "f": 1.5}) is None


@given(
    st.sampled_from(CARDS),
    st.text(alphabet="abc .,:;!?\n", max_size=20),
    st.text(alphabet="abc .,:;!?\n", max_size=20),
)
def test_a_card_is_found_wherever_it_is_embedded(card: str, before: str, after: str) -> None:
    assert contains_card_number(f"{before}{card}{after}")


@given(st.text(alphabet="0123456789", min_size=13, max_size=19))
def test_plain_digit_runs_match_the_luhn_check(digits: str) -> None:
    assert contains_card_number(digits) == luhn_valid(digits)
