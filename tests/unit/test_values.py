"""Declared types: normalisation of identities and validation of field values."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher

from charter.domain.errors import InvalidValue
from charter.manifest.models import FieldSpec, FieldType, IdentityKind
from charter.services.values import normalise_identity, printable, validate_field


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (IdentityKind.EMAIL, " Ann.Example@EXAMPLE.org ", "ann.example@example.org"),
        (IdentityKind.PHONE, "(401) 555-0100", "+14015550100"),
        (IdentityKind.PHONE, "+49 30 901820", "+4930901820"),
        (IdentityKind.DEVICE_SERIAL, "ak-12 34", "AK1234"),
        (IdentityKind.ACCOUNT_ID, " acct-1 ", "acct-1"),
        (IdentityKind.COOKIE_ID, "ck_0123456789", "ck_0123456789"),
    ],
)
def test_identities_are_normalised(kind: IdentityKind, value: str, expected: str) -> None:
    assert normalise_identity(kind, value, "US") == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (IdentityKind.EMAIL, "not-an-email"),
        (IdentityKind.EMAIL, 42),
        (IdentityKind.PHONE, "12"),
        (IdentityKind.COOKIE_ID, "short"),
        (IdentityKind.ACCOUNT_ID, ""),
        (IdentityKind.ACCOUNT_ID, "x" * 201),
    ],
)
def test_bad_identities_are_refused_by_name(kind: IdentityKind, value: Any) -> None:
    with pytest.raises(InvalidValue, match=f"identities.{kind.value}"):
        normalise_identity(kind, value, "US")


@pytest.mark.parametrize(
    ("type_", "value", "expected"),
    [
        (FieldType.STRING, "  Ann  ", "Ann"),
        (FieldType.TEXT, "line one\nline two", "line one\nline two"),
        (FieldType.COUNTRY, "de", "DE"),
        (FieldType.DATE, "2008-02-29", "2008-02-29"),
        (FieldType.DATETIME, "2026-01-01T10:00:00+01:00", "2026-01-01T09:00:00+00:00"),
        (FieldType.INTEGER, 3, 3),
        (FieldType.NUMBER, 2.5, 2.5),
        (FieldType.BOOLEAN, False, False),
        (FieldType.URL, "https://example.org/a", "https://example.org/a"),
        (FieldType.IP_ADDRESS, "2001:db8::1", "2001:db8::1"),
        (FieldType.PAYMENT_TOKEN, "tok_ABC12345", "tok_ABC12345"),
        (
            FieldType.ADDRESS,
            {"city": "Ash Vale", "country": "gb"},
            {"city": "Ash Vale", "country": "GB"},
        ),
    ],
)
def test_values_are_canonical(type_: FieldType, value: Any, expected: Any) -> None:
    spec = FieldSpec(category="user.name", type=type_)
    assert validate_field(spec, value, "data.x", "US") == expected


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        (FieldType.STRING, 7),
        (FieldType.STRING, "a\x00b"),
        (FieldType.STRING, "x" * 501),
        (FieldType.COUNTRY, "XX"),
        (FieldType.DATE, "2007-02-29"),
        (FieldType.DATETIME, "2026-01-01T10:00:00"),
        (FieldType.INTEGER, True),
        (FieldType.INTEGER, 1.5),
        (FieldType.NUMBER, "1"),
        (FieldType.BOOLEAN, "yes"),
        (FieldType.URL, "javascript:alert(1)"),
        (FieldType.IP_ADDRESS, "300.1.1.1"),
        (FieldType.PAYMENT_TOKEN, "tok"),
        (FieldType.ADDRESS, {"planet": "Mars"}),
        (FieldType.ADDRESS, {"country": "Atlantis"}),
        (FieldType.PASSWORD, ""),
    ],
)
def test_wrong_values_name_the_field_not_the_value(type_: FieldType, value: Any) -> None:
    spec = FieldSpec(category="user.name", type=type_)
    with pytest.raises(InvalidValue) as caught:
        validate_field(spec, value, "data.x", "US")
    assert "data.x" in caught.value.message
    if isinstance(value, str) and len(value) > 3:
        assert value not in caught.value.message


def test_passwords_are_kept_only_as_an_argon2id_hash() -> None:
    spec = FieldSpec(category="user.authorization.credentials", type=FieldType.PASSWORD)
    stored = validate_field(spec, "correct horse battery staple", "data.password", "US")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert PasswordHasher().verify(stored, "correct horse battery staple")


@pytest.mark.parametrize("text", ["Ann", "two\nlines\r\n", "tab\there", "Zürich 🎵", ""])
def test_printable_text_passes(text: str) -> None:
    assert printable(text, "notice") == text


@pytest.mark.parametrize("text", ["nul\x00byte", "\x00", "bell\x07", "esc\x1b[0m", "del\x7f"])
def test_control_characters_are_refused_by_field_name(text: str) -> None:
    # PostgreSQL cannot store U+0000 at all: without this it was a 500 there.
    with pytest.raises(InvalidValue) as caught:
        printable(text, "reasons")
    assert caught.value.message == "reasons: contains control characters"
