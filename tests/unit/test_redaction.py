"""Redaction of other people's e-mail addresses and telephone numbers in free text."""

from __future__ import annotations

import pytest

from charter.domain.redaction import REDACTED, redact

OWN = ("ada@example.org", "+44 7700 900123")


@pytest.mark.parametrize(
    ("text", "expected", "count"),
    [
        # Other people's e-mail addresses go; the person's own stay, whatever their case.
        ("write to bob@example.org", f"write to {REDACTED}", 1),
        ("I am ADA@Example.org", "I am ADA@Example.org", 0),
        ("cc: b.o'neil+shop@mail.example.org.", f"cc: {REDACTED}.", 1),
        ("a@example.org, c@example.org", f"{REDACTED}, {REDACTED}", 2),
        ("digits.5551234567@example.org", REDACTED, 1),
        # Telephone numbers in their usual shapes.
        ("call +49 40 1234567", f"call {REDACTED}", 1),
        ("call (555) 010-2233.", f"call {REDACTED}.", 1),
        ("+44 (0)20 7946 0958", REDACTED, 1),
        ("tel: 555.010.2233", f"tel: {REDACTED}", 1),
        ("phone:5551234567", f"phone:{REDACTED}", 1),
        ("line one\n5551234", f"line one\n{REDACTED}", 1),
        ("call 555-12-3456 now", f"call {REDACTED} now", 1),
        # The person's own number, in this or another format, stays.
        ("my number is +44 7700 900123", "my number is +44 7700 900123", 0),
        ("my number is 07700 900123", "my number is 07700 900123", 0),
        ("my number is 0044-7700-900123", "my number is 0044-7700-900123", 0),
        ("my number is 447700900123", "my number is 447700900123", 0),
        # Dates, times, IP addresses and short or long numbers are not telephone numbers.
        ("order 2026-11-29 shipped", "order 2026-11-29 shipped", 0),
        ("at 2026-11-29T10:00:00+00:00", "at 2026-11-29T10:00:00+00:00", 0),
        ("at 2026-11-29 10:00", "at 2026-11-29 10:00", 0),
        ("on 29.11.2026 or 11/29/2026", "on 29.11.2026 or 11/29/2026", 0),
        ("item 12 2026-11-29", "item 12 2026-11-29", 0),
        ("from 192.168.100.200", "from 192.168.100.200", 0),
        ("room 12345, 3 units", "room 12345, 3 units", 0),
        ("ref 1234567890123456", "ref 1234567890123456", 0),
        # Digits glued to letters or inside a reference or a link.
        ("serial SN12345678", "serial SN12345678", 0),
        ("ticket #10023456", "ticket #10023456", 0),
        ("https://rec.example/calls/12345678", "https://rec.example/calls/12345678", 0),
        ("see ?id=12345678", "see ?id=12345678", 0),
        ("weighs 10000000kg", "weighs 10000000kg", 0),
        ("", "", 0),
    ],
)
def test_redact(text: str, expected: str, count: int) -> None:
    assert redact(text, OWN) == (expected, count)


def test_without_own_identities_everything_goes() -> None:
    text = "ada@example.org or +44 7700 900123"
    assert redact(text, ()) == (f"{REDACTED} or {REDACTED}", 2)


def test_own_values_that_are_not_contacts_are_ignored() -> None:
    assert redact("call 5550102233", ("acct-42", "123")) == (f"call {REDACTED}", 1)
