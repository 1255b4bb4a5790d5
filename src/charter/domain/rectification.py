"""Where the corrections of a rectification request go (GDPR Art. 16, 19).

A rectification's ``details.changes`` maps targets to ``{column or field: new value}``:

    {"charter": {"name": "Ann Smith"},
     "shop.customers": {"last_name": "Smith"},
     "forum.profile": {"display_name": "Ann S."},
     "events.page_views": {"account_id": "acct-42"}}

``charter`` is Charter's own values, by field name (a field Charter does not hold is reported by
the step, not refused: the person cannot know which fields were collected). Every other target
is ``<system>.<table>``, a table the manifest declares for that system, and its keys are columns
declared for that table: the manifest says what each system holds, whatever carries the change
out (a SQL update, a rewrite of a lake's files, a system's privacy webhook, or staff). A
correction is checked before the request is filed, so that a typo is refused at once rather than
failing a step weeks later: the person learns which target or column is unknown, and what can be
corrected instead. Messages never quote a new value (it is personal data).

New values for a system are JSON scalars (text, number, boolean or null): no column takes a list
or an object portably. Whether a value fits the column's type is the system's to say when the
step runs (a database or a lake refuses it, naming the column).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from charter.domain.errors import InvalidValue, UndeclaredField

OWN = "charter"
"""The target of corrections to Charter's own values."""

Correctable = Mapping[str, Collection[str]]
"""``<system>.<table>`` to the columns a correction may set there."""


def check_changes(changes: object, correctable: Correctable) -> None:
    """Refuse ``changes`` (see the module docstring) unless every target is ``charter`` or a
    key of ``correctable``, every column is one of that target's, and every value for a system
    is a scalar. ``None`` (no changes named: a request in the person's words) passes."""
    if changes is None:
        return
    if not isinstance(changes, Mapping):
        raise InvalidValue(
            'details.changes: an object of targets, e.g. {"shop.customers": {"last_name": "Smith"}}'
        )
    for target, columns in changes.items():
        where = f"details.changes.{target}"
        if not isinstance(columns, Mapping):
            raise InvalidValue(f"{where}: an object of columns to their new values")
        if target == OWN:
            continue
        if target not in correctable:
            known = ", ".join([OWN, *sorted(correctable)])
            raise UndeclaredField(
                f"details.changes: '{target}' is not a declared table of a system; "
                f"corrections can go to: {known}"
            )
        allowed = correctable[target]
        for column, value in columns.items():
            if column not in allowed:
                raise UndeclaredField(
                    f"{where}: no column '{column}' can be corrected there; declared: "
                    + ", ".join(sorted(allowed))
                )
            if value is not None and not isinstance(value, str | int | float | bool):
                raise InvalidValue(f"{where}.{column}: a text, a number, a boolean or null")


def systems_changed(changes: Mapping[str, Any]) -> list[str]:
    """The systems ``changes`` names, in the order first named (``charter`` aside)."""
    return list(dict.fromkeys(target.split(".", 1)[0] for target in changes if "." in str(target)))


def changes_for(changes: Mapping[str, Any], system: str) -> dict[str, dict[str, Any]]:
    """The corrections meant for ``system``: table to ``{column: new value}``; nothing meant
    for another system (a system learns only its own part, Art. 5(1)(c))."""
    found: dict[str, dict[str, Any]] = {}
    for target, columns in changes.items():
        system_key, dot, table = str(target).partition(".")
        if dot and system_key == system and isinstance(columns, Mapping):
            found.setdefault(table, {}).update(columns)
    return found


def rectified_counts(answer: Any, changes: Mapping[str, Any]) -> dict[str, int]:
    """The rows changed per table, from a webhook system's answer to ``rectify``
    (``{"profile": 1}``): only the tables Charter sent, only non-negative whole numbers;
    anything else in the answer (old values echoed, a message) could name the person and is
    dropped."""
    if not isinstance(answer, Mapping):
        return {}
    return {
        table: count
        for table in changes
        if isinstance(count := answer.get(table), int)
        and not isinstance(count, bool)
        and count >= 0
    }
