"""Public content at forums, blogs and chats: what a person's public profile shows, and who must
be told when the person is erased.

Privacy by default (GDPR Art. 25(2)): a field is shown to the public only when the manifest
declares it ``public`` (a post, the name it is posted under: public by the touchpoint's nature)
or when it is a ``choice`` field the person chose to make public, their latest choice winning. A
``private`` field is never shown, whatever is asked; a ``choice`` field nobody chose stays
private.

Erasure of public content (Art. 17(1)-(2)): the system that publishes is asked to delete or
de-identify the person's posts, and every republisher the manifest names for a touchpoint the
person published at, with every republication recorded for them, is told.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from charter.domain.errors import InvalidInput, InvalidValue, UndeclaredField

PUBLIC = "public"
PRIVATE = "private"
CHOICE = "choice"
CHOSEN = frozenset({PUBLIC, PRIVATE})
"""What a person may choose for a ``choice`` field."""
DELETE = "delete"
DEIDENTIFY = "deidentify"


@dataclass(frozen=True, slots=True)
class VisibilityChoice:
    """A person's choice for one field, as recorded (the evidence: when and how)."""

    field: str
    visibility: str
    at: dt.datetime
    method: str


def check_choices(declared: Mapping[str, str], requested: Mapping[str, str]) -> None:
    """Refuse a choice for a field the touchpoint does not declare (``undeclared_field``), for a
    field whose visibility is not the person's to choose (``not_a_choice``: a ``public`` field is
    public by the touchpoint's nature, a ``private`` one is never published), or a value other
    than public or private; every field is checked before anything is recorded."""
    if not requested:
        raise InvalidInput("'fields': name at least one field and its visibility")
    for name, visibility in requested.items():
        if name not in declared:
            raise UndeclaredField(f"'fields.{name}' is not a field this touchpoint declares")
        if declared[name] != CHOICE:
            raise InvalidInput(
                f"'fields.{name}' is {declared[name]} at this touchpoint, not the person's "
                "choice; only fields with visibility 'choice' take one",
                code="not_a_choice",
            )
        if visibility not in CHOSEN:
            raise InvalidValue(f"'fields.{name}': choose 'public' or 'private'")


def latest_choices(choices: Iterable[VisibilityChoice]) -> dict[str, VisibilityChoice]:
    """Each field's latest choice (the last recorded at the latest time wins)."""
    latest: dict[str, VisibilityChoice] = {}
    for choice in choices:
        kept = latest.get(choice.field)
        if kept is None or choice.at >= kept.at:
            latest[choice.field] = choice
    return latest


def shown_fields(
    declared: Mapping[str, str], choices: Iterable[VisibilityChoice]
) -> dict[str, str]:
    """The fields shown publicly, each with why: ``public`` (declared so) or ``chosen`` (a
    ``choice`` field the person made public). Private fields and unchosen choices are absent."""
    chosen = latest_choices(choices)
    shown: dict[str, str] = {}
    for name, visibility in declared.items():
        if visibility == PUBLIC:
            shown[name] = PUBLIC
        elif visibility == CHOICE and name in chosen and chosen[name].visibility == PUBLIC:
            shown[name] = "chosen"
    return shown


def public_profile(
    declared: Mapping[str, str],
    choices: Iterable[VisibilityChoice],
    values: Sequence[tuple[str, Any]],
) -> dict[str, Any]:
    """The person's latest value of each shown field; ``values`` are (field, value) pairs,
    oldest first (a later submission replaces an earlier value)."""
    shown = shown_fields(declared, choices)
    profile: dict[str, Any] = {}
    for name, value in values:
        if name in shown:
            profile[name] = value
    return profile


def republishers_to_tell(
    published_at: Iterable[str], republishers: Mapping[str, Sequence[str]]
) -> list[str]:
    """The republishers to tell of a person's erasure (Art. 17(2)): those of every touchpoint
    the person published at (``republishers``: touchpoint -> recipient keys), each once, in the
    order first met. A republisher copies only what was published, so a person who never
    published at its touchpoints is not its concern."""
    told: list[str] = []
    for touchpoint in published_at:
        for key in republishers.get(touchpoint, ()):
            if key not in told:
                told.append(key)
    return told


def erasure_mode(modes: Iterable[tuple[str, str]]) -> tuple[str, str]:
    """What a publishing system is asked to do with a person's posts, from the ``(on_erasure,
    replacement)`` of each touchpoint it publishes: ``delete`` if any says so (the stronger
    promise wins), else ``deidentify`` with the first replacement author."""
    found = list(modes)
    if not found or any(mode == DELETE for mode, _ in found):
        return DELETE, found[0][1] if found else ""
    return DEIDENTIFY, found[0][1]


_COUNT_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def answer_summary(answer: Any) -> dict[str, int | bool]:
    """What of a publishing system's JSON answer is kept in a request's step summary: counts and
    flags under short snake_case keys (``{"deleted": 2, "deidentified": 5}``). Anything else (a
    string, a list, a nested object) could name the person and is dropped."""
    if not isinstance(answer, Mapping):
        return {}
    return {
        str(key): value
        for key, value in answer.items()
        if isinstance(key, str)
        and _COUNT_KEY.match(key)
        and isinstance(value, (int, bool))
        and not (isinstance(value, int) and not isinstance(value, bool) and value < 0)
    }
