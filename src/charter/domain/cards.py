"""Payment card numbers are never stored: the policy promises it, and PCI DSS scope follows it.

A card number is 13 to 19 digits that pass the Luhn check, written plain or in groups separated
by single spaces or dashes ("4111 1111 1111 1111", "4111-1111-1111-1111"), anywhere in a value,
free text included. Within a longer run of digit groups every contiguous sequence of whole groups
is tried, so a card number written after an order number is still found; windows inside one
unbroken run of more than 19 digits are not tried, since one in ten of them would pass Luhn by
chance (a long serial number is not a card).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from charter.domain.errors import PaymentCardData

_RUN = re.compile(r"\d+(?:[ -]\d+)*")
_SEPARATOR = re.compile(r"[ -]")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _candidates(text: str) -> Iterator[str]:
    for match in _RUN.finditer(text):
        groups = _SEPARATOR.split(match.group())
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 19:
                    break
                if len(digits) >= 13:
                    yield digits


def contains_card_number(text: str) -> bool:
    """Whether ``text`` holds anything that looks like a payment card number."""
    return any(luhn_valid(candidate) for candidate in _candidates(text))


def find_card_number(value: object, path: str = "") -> str | None:
    """The path of the first string, number or key in a JSON value holding a card number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int):
        return path if contains_card_number(str(value)) else None
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if contains_card_number(str(key)):
                return child
            found = find_card_number(item, child)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = find_card_number(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def refuse_card_data(value: object) -> None:
    """Raise ``PaymentCardData`` naming where a card number is; never echo the number."""
    found = find_card_number(value)
    if found is not None:
        raise PaymentCardData(
            f"'{found}' holds what looks like a payment card number; card data is never "
            "stored (send the payment processor's token instead). Nothing was stored."
        )
