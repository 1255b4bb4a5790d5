"""The forms of an identifier and the streaming search (``charter.domain.forensics``), and the
text forms of e-mails, phone numbers and serials (``charter.services.forensics``)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from charter.domain.forensics import MIN_LENGTH, Pattern, base64_cores, patterns, search
from charter.services.forensics import text_forms

PERSON = "ann.example@example.org"


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def offsets(data: bytes, wanted: list[Pattern], size: int, unfold: bool = False) -> list[int]:
    return [hit.offset for hit in search(chunked(data, size), wanted, unfold=unfold)]


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab", b"abc", b"abcd"])
def test_base64_cores_are_found_at_every_alignment(prefix: bytes) -> None:
    encoded = base64.b64encode(prefix + PERSON.encode() + b" and more")
    assert any(core in encoded for core in base64_cores(PERSON.encode()))


def test_every_form_has_its_needle() -> None:
    person = "Jürgen.Example@example.org"
    found = {p.form: p.needle for p in patterns(person, {"as given": person})}
    assert found["as given, UTF-8"] == person.lower().encode()
    assert found["as given, UTF-16-LE"] == person.lower().encode("utf-16-le")
    assert found["as given, URL-encoded"] == quote(person, safe="").lower().encode()
    assert found["as given, JSON-escaped"] == json.dumps(person)[1:-1].lower().encode()
    assert found["as given, quoted-printable"] == b"j=c3=bcrgen.example@example.org"
    assert all(len(needle) >= MIN_LENGTH for needle in found.values())


def test_short_forms_are_left_out() -> None:
    assert patterns("1234", {"as given": "1234"}) == []


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 16, 23, 24, 25, 64, 4096])
def test_a_match_across_chunks_is_found_once(size: int) -> None:
    wanted = patterns(PERSON, {"as given": PERSON})
    data = b"x" * 20 + PERSON.upper().encode() + b"y" * 30 + PERSON.encode() + b"z"
    assert offsets(data, wanted, size) == [20, 20 + len(PERSON) + 30]


@pytest.mark.parametrize("size", [3, 10, 80, 4096])
def test_wrapped_lines_and_soft_breaks_are_unfolded(size: int) -> None:
    wanted = patterns(PERSON, {"as given": PERSON})
    body = base64.encodebytes(b"Dear customer, " + PERSON.encode() + b" asked us.")
    soft = b"Dear " + PERSON[:7].encode() + b"=\r\n" + PERSON[7:].encode() + b"\r\n"
    assert len(offsets(body, wanted, size, unfold=True)) == 1
    assert offsets(soft, wanted, size, unfold=True) == [5]
    assert offsets(soft, wanted, size) == []  # the raw bytes alone miss it


def test_a_shorter_form_inside_a_longer_one_is_one_finding() -> None:
    forms = {"E.164": "+12025550133", "E.164 without +": "12025550133"}
    wanted = patterns("+1 202 555 0133", forms)
    hits = list(search([b"call +12025550133 or 12025550133"], wanted))
    assert [(h.offset, h.pattern.form) for h in hits] == [
        (5, "E.164, UTF-8"),
        (21, "E.164 without +, UTF-8"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ann.Example@Example.org", {"lower-case": "ann.example@example.org"}),
        (
            "+1 (202) 555-0133",
            {
                "E.164": "+12025550133",
                "international": "+1 202-555-0133",
                "international, spaced": "+1 202 555 0133",
                "national": "(202) 555-0133",
                "national number": "2025550133",
            },
        ),
        ("qf-778 899", {"upper-case without spaces or dashes": "QF778899"}),
    ],
)
def test_text_forms(value: str, expected: dict[str, str]) -> None:
    forms = text_forms(value, "US")
    assert forms["as given"] == value
    assert expected.items() <= forms.items()


def test_a_national_number_needs_the_region() -> None:
    assert text_forms("0171 1234567", "DE")["E.164"] == "+491711234567"
    assert "E.164" not in text_forms("0171 1234567", None)
