"""Validation and normalisation of collected values and identities, by declared type.

Identities are normalised before they are hashed for lookup, so that ``Ann@Example.org`` and
``ann@example.org`` find the same person and ``(401) 555-0100`` matches ``+14015550100``.
Messages name the field and the rule broken, never the value (it may be personal data).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from argon2 import PasswordHasher
from email_validator import EmailNotValidError, validate_email

from charter.domain.errors import InvalidValue
from charter.manifest.models import FieldSpec, FieldType, IdentityKind

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_COOKIE_ID = re.compile(r"^[A-Za-z0-9_\-.]{8,128}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_\-:.]{8,255}$")
_ADDRESS_PARTS = frozenset({"line1", "line2", "city", "postal_code", "region", "country"})
_hasher = PasswordHasher()


def printable(value: str, where: str) -> str:
    """``value`` unless it holds control characters (tab and line breaks aside): they mean
    nothing in a notice, a note, a language or a region, and PostgreSQL cannot store U+0000 at
    all, so one would fail the write (a 500) where the caller should hear what is wrong."""
    if _CONTROL.search(value):
        raise InvalidValue(f"{where}: contains control characters")
    return value


def normalise_email(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{where}: must be an email address (a string)")
    try:
        checked = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise InvalidValue(f"{where}: is not a valid email address") from None
    return str(checked.normalized).lower()


def normalise_phone(value: Any, where: str, default_region: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{where}: must be a phone number (a string)")
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidValue(f"{where}: is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue(f"{where}: is not a valid phone number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _country(value: Any, where: str) -> str:
    if not isinstance(value, str) or value.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidValue(f"{where}: must be an ISO 3166-1 alpha-2 country code such as DE")
    return value.upper()


def _text(value: Any, where: str, spec: FieldSpec, multiline: bool) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"{where}: must be a string")
    if len(value) > spec.max_length:
        raise InvalidValue(f"{where}: longer than {spec.max_length} characters")
    checked = value if multiline else value.replace("\n", " ")
    if _CONTROL.search(checked):
        raise InvalidValue(f"{where}: contains control characters")
    return value.strip() if not multiline else value


def _date(value: Any, where: str, _spec: FieldSpec) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise InvalidValue(f"{where}: must be a date as YYYY-MM-DD") from None


def _datetime(value: Any, where: str, _spec: FieldSpec) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidValue(f"{where}: must be an ISO 8601 date and time") from None
    if parsed.tzinfo is None:
        raise InvalidValue(f"{where}: must carry a time zone (e.g. Z or +01:00)")
    return parsed.astimezone(dt.UTC).isoformat()


def _integer(value: Any, where: str, _spec: FieldSpec) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(f"{where}: must be an integer")
    return value


def _number(value: Any, where: str, _spec: FieldSpec) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidValue(f"{where}: must be a number")
    return value


def _boolean(value: Any, where: str, _spec: FieldSpec) -> bool:
    if not isinstance(value, bool):
        raise InvalidValue(f"{where}: must be true or false")
    return value


def _url(value: Any, where: str, spec: FieldSpec) -> str:
    text = _text(value, where, spec, multiline=False)
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidValue(f"{where}: must be an http(s) URL")
    return text


def _ip(value: Any, where: str, _spec: FieldSpec) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except (TypeError, ValueError):
        raise InvalidValue(f"{where}: must be an IPv4 or IPv6 address") from None


def _password(value: Any, where: str, spec: FieldSpec) -> str:
    # Collected "only for authentication": kept as an Argon2id hash, never reversibly.
    if not isinstance(value, str) or not value:
        raise InvalidValue(f"{where}: must be a non-empty string")
    if len(value) > min(spec.max_length, 1024):
        raise InvalidValue(f"{where}: too long")
    return _hasher.hash(value)


def _payment_token(value: Any, where: str, _spec: FieldSpec) -> str:
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise InvalidValue(f"{where}: must be a payment processor token (8-255 token characters)")
    return value


def _address(value: Any, where: str, spec: FieldSpec) -> str | dict[str, str]:
    if isinstance(value, str):
        return _text(value, where, spec, multiline=True)
    if not isinstance(value, dict) or not value:
        raise InvalidValue(f"{where}: must be a string or an object of address parts")
    unknown = sorted(set(value) - _ADDRESS_PARTS)
    if unknown:
        raise InvalidValue(
            f"{where}: unknown address part '{unknown[0]}' "
            f"(allowed: {', '.join(sorted(_ADDRESS_PARTS))})"
        )
    result = {part: _text(text, f"{where}.{part}", spec, False) for part, text in value.items()}
    if "country" in result:
        result["country"] = _country(result["country"], f"{where}.country")
    return result


_VALIDATORS: dict[FieldType, Callable[[Any, str, FieldSpec], Any]] = {
    FieldType.STRING: lambda v, w, s: _text(v, w, s, multiline=False),
    FieldType.TEXT: lambda v, w, s: _text(v, w, s, multiline=True),
    FieldType.COUNTRY: lambda v, w, _s: _country(v, w),
    FieldType.DATE: _date,
    FieldType.DATETIME: _datetime,
    FieldType.INTEGER: _integer,
    FieldType.NUMBER: _number,
    FieldType.BOOLEAN: _boolean,
    FieldType.URL: _url,
    FieldType.IP_ADDRESS: _ip,
    FieldType.PASSWORD: _password,
    FieldType.PAYMENT_TOKEN: _payment_token,
    FieldType.ADDRESS: _address,
}


def validate_field(spec: FieldSpec, value: Any, where: str, default_region: str) -> Any:
    """Check ``value`` against its declared type and return it in canonical form."""
    if spec.type is FieldType.EMAIL:
        return normalise_email(value, where)
    if spec.type is FieldType.PHONE:
        return normalise_phone(value, where, default_region)
    canonical = _VALIDATORS[spec.type](value, where, spec)
    if spec.choices is not None and canonical not in spec.choices:
        # The value is not echoed (it may be anything a person typed); the choices are public.
        raise InvalidValue(f"{where}: must be one of {', '.join(spec.choices)}")
    return canonical


def normalise_identity(kind: IdentityKind, value: Any, default_region: str) -> str:
    where = f"identities.{kind.value}"
    if kind is IdentityKind.EMAIL:
        return normalise_email(value, where)
    if kind is IdentityKind.PHONE:
        return normalise_phone(value, where, default_region)
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(f"{where}: must be a non-empty string")
    text = value.strip()
    if kind is IdentityKind.COOKIE_ID and not _COOKIE_ID.match(text):
        raise InvalidValue(f"{where}: must be 8-128 letters, digits, '-', '_' or '.'")
    if len(text) > 200 or _CONTROL.search(text):
        raise InvalidValue(f"{where}: must be at most 200 printable characters")
    if kind is IdentityKind.DEVICE_SERIAL:
        # Serials are printed in varying case with spaces or dashes; match on the characters.
        return re.sub(r"[\s-]", "", text).upper()
    return text
