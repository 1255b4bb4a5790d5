"""Redaction of other people's contact details in free text (GDPR Art. 15(4)).

A copy of a person's data must not adversely affect the rights of others: a chat log or a
support message often holds someone else's e-mail address or telephone number (a friend, a
dealer, another customer). ``redact`` replaces those with ``[redacted]`` and keeps the person's
own identities.

The rule:

- **E-mail addresses**: ``local@domain.tld`` (letters, digits and ``. _ % + ' -`` before the
  ``@``; a dotted host name after it). Kept when it equals one of the person's own addresses,
  compared case-insensitively.
- **Telephone numbers**: a run of 7 to 15 digits (E.164 allows at most 15), optionally led by
  ``+``, whose digits may be grouped by single spaces, dots or dashes and by parentheses
  (``+44 (0)20 7946 0958``, ``040-1234567``, ``(555) 010.2233``). Kept when its digits equal the
  digits of one of the person's own numbers, or when, leading zeros dropped (``0044``, trunk
  ``0``), one is the other's ending of at least 7 digits: ``07700 900123`` matches ``+44 7700
  900123``.

Not redacted, by design:

- dates and times: ``2026-11-29``, ``2026-11-29T10:00``, ``29.11.2026``, ``11/29/2026``
  (a date-shaped number inside a longer run also keeps that run);
- IPv4 addresses (``192.168.100.200``);
- numbers of fewer than 7 or more than 15 digits (quantities, postcodes, card-length and
  tracking numbers);
- digits glued to letters or inside a reference or a link: ``SN12345678``, ``#10023456``,
  ``/calls/12345678``, ``?id=12345678``, ``10000000kg``.

Limits: the rule looks at shape only. A bare order number of 7-15 digits written without a
``#`` or a letter prefix (``order 100234567``) is redacted as if it were a telephone number
(erring on the side of the other person); two numbers separated only by a space join into one
run and, if that run exceeds 15 digits, are both kept. Names, postal addresses and other
identifiers of third parties are not detected.
"""

from __future__ import annotations

import re
from collections.abc import Collection

REDACTED = "[redacted]"

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = rf"(?P<email>(?<![\w.%+'-])[\w.%+'-]+@{_LABEL}(?:\.{_LABEL})+)"
_DATE = (
    r"\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{4}[./]\d{1,2}[./]\d{1,2}"
    r"|\d{1,2}[./-]\d{1,2}[./-]\d{4}"
)
_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
# Not inside a word, a link, a reference (#123), a parameter (=123) or an address.
_BEFORE = r"(?<![\w/=#&?@+.-])"
_PHONE = r"\+?(?:\(\d+\)|\d)(?:[ .-]?(?:\(\d+\)|\d))*"
_PATTERN = re.compile(
    rf"{_EMAIL}"
    rf"|(?P<kept>{_BEFORE}(?:{_DATE}|{_IPV4})(?![\w@]))"
    rf"|(?P<phone>{_BEFORE}{_PHONE}(?![\w@]))"
)
_DATE_INSIDE = re.compile(rf"(?<!\d)(?:{_DATE})(?!\d)")
_MIN_DIGITS, _MAX_DIGITS = 7, 15


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _same_number(a: str, b: str) -> bool:
    if a == b:
        return True
    a, b = a.lstrip("0"), b.lstrip("0")
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= _MIN_DIGITS and longer.endswith(shorter)


def redact(text: str, own: Collection[str]) -> tuple[str, int]:
    """``text`` with other people's e-mail addresses and telephone numbers replaced by
    ``[redacted]``, and how many were replaced. ``own`` holds the person's own identities
    (e-mail addresses and telephone numbers in any format; other values are ignored)."""
    own_emails = {value.strip().casefold() for value in own if "@" in value}
    own_phones = {
        digits for value in own if "@" not in value and len(digits := _digits(value)) >= _MIN_DIGITS
    }
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        found = match.group(0)
        if match.group("email") is not None:
            if found.casefold() in own_emails:
                return found
        elif match.group("phone") is not None:
            digits = _digits(found)
            if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS or _DATE_INSIDE.search(found):
                return found
            if any(_same_number(digits, mine) for mine in own_phones):
                return found
        else:
            return found
        count += 1
        return REDACTED

    return _PATTERN.sub(replace, text), count
