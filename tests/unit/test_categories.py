"""Dotted category keys: a key covers itself and everything below it, nothing beside it."""

from __future__ import annotations

import pytest

from charter.domain.categories import covered_by_any, covers


@pytest.mark.parametrize(
    ("parent", "child", "covered"),
    [
        ("user.contact", "user.contact.email", True),
        ("user.contact", "user.contact.address.country", True),
        ("user.contact", "user.contact", True),
        ("user", "user.payment.token", True),
        ("user.contact", "user.contactless", False),  # a prefix of the text is not a parent
        ("user.contact.email", "user.contact", False),
        ("user.contact", "user.name", False),
    ],
)
def test_covers(parent: str, child: str, covered: bool) -> None:
    assert covers(parent, child) is covered


def test_covered_by_any() -> None:
    assert covered_by_any("user.payment.token", ["user.name", "user.payment"])
    assert not covered_by_any("user.payment.token", ["user.name", "user.pay"])
    assert not covered_by_any("user.name", [])
