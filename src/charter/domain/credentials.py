"""Passwords: what may be said about one, and never the password or its hash.

The policy promises that a password is collected "only for authentication and account access"
and that "we will never ask you to disclose your password". Charter keeps a password only as an
Argon2id hash (``charter.services.values``) and checks it (``charter.services.credentials``);
everything that shows or exports collected values goes through the rules here:

- a *credential* is a value of category ``user.authorization.credentials`` (or a sub-category),
  or of a field declared ``type: password`` whatever its category;
- where a credential would be shown (the access and portability package, GDPR Art. 15(3) and
  20; a parent's view of a child's data), its value is replaced by its *state*:
  ``{"set": true, "changed_at": "<ISO time>"}``, the time the value was collected. The hash is
  of no use to the person (it cannot be read back, nor taken to another service), and a copy of
  it, wherever it goes, could be attacked offline;
- a person has one password per brand (signing in at a brand checks the latest one collected at
  any of its touchpoints), so only the latest credential of each brand is shown, with when it
  last changed.

Standard library only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

CREDENTIALS = "user.authorization.credentials"
PASSWORD_TYPE = "password"  # noqa: S105 (a field type, not a secret)

_STATE_KEYS = frozenset({"set", "changed_at"})


def is_credential(category: str, field_type: str | None = None) -> bool:
    """Whether a value of ``category`` (collected by a field of ``field_type``) is a credential:
    the category is ``user.authorization.credentials`` or under it, or the field is a password.
    A parent category (``user.authorization``) is not itself a credential."""
    return (
        category == CREDENTIALS or category.startswith(CREDENTIALS + ".")
    ) or field_type == PASSWORD_TYPE


def password_state(changed_at: dt.datetime | str | None) -> dict[str, Any]:
    """What is said instead of a password: that one is set and, when known, when it changed
    (an ISO 8601 time; an external system's column gives no time)."""
    if changed_at is None:
        return {"set": True}
    when = changed_at.isoformat() if isinstance(changed_at, dt.datetime) else changed_at
    return {"set": True, "changed_at": when}


def is_password_state(value: object) -> bool:
    """Whether ``value`` is a ``password_state`` (so that it is shown in words)."""
    return isinstance(value, Mapping) and value.get("set") is True and set(value) <= _STATE_KEYS


def describe_password_state(value: Mapping[str, Any]) -> str:
    """``password_state`` in words: "A password is set (last changed 12 March 2026)"."""
    changed = value.get("changed_at")
    if not changed:
        return "A password is set"
    moment = dt.datetime.fromisoformat(str(changed))
    return f"A password is set (last changed {moment.day} {moment:%B %Y})"


Secret = Callable[[Mapping[str, Any]], bool]
"""Whether one collected value (a mapping with ``category``, ``touchpoint``, ``field``) is a
credential; the caller knows the fields' declared types."""


def by_category(value: Mapping[str, Any]) -> bool:
    """``Secret`` from the category alone (no manifest at hand)."""
    return is_credential(str(value.get("category", "")))


def conceal(
    values: Sequence[Mapping[str, Any]], secret: Secret = by_category
) -> list[dict[str, Any]]:
    """``values`` (mappings with ``brand``, ``category``, ``collected_at`` and ``value``, oldest
    first) with every credential's value replaced by its state, and only the latest credential
    of each brand kept (at its own place in the order). Other values are unchanged. Applying it
    twice gives the same result."""
    latest: dict[object, int] = {}
    for index, value in enumerate(values):
        if secret(value):
            key = value.get("brand")
            current = latest.get(key)
            if current is None or _moment(values[current]) <= _moment(value):
                latest[key] = index
    kept = set(latest.values())
    result: list[dict[str, Any]] = []
    for index, value in enumerate(values):
        if not secret(value):
            result.append(dict(value))
        elif index in kept:
            result.append({**value, "value": password_state(value.get("collected_at"))})
    return result


def _moment(value: Mapping[str, Any]) -> dt.datetime:
    """A value's collection time, comparable whether given as a time or as ISO text (a naive
    time is taken to be UTC, as SQLite returns them)."""
    found = value.get("collected_at")
    moment = dt.datetime.fromisoformat(found) if isinstance(found, str) else found
    if not isinstance(moment, dt.datetime):
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


__all__ = [
    "CREDENTIALS",
    "PASSWORD_TYPE",
    "Secret",
    "by_category",
    "conceal",
    "describe_password_state",
    "is_credential",
    "is_password_state",
    "password_state",
]
