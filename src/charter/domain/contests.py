"""Contests: how much of a winner's name is published, and what a sponsor receives.

The policy ("Contests"): "inMusic may also make the winner's names public, as provided in the
applicable rules". The manifest's contest rules say how much (``winners``):

    none                    nobody is named; only how many winners were drawn is published
    first_name_and_initial  "Ann L." (the first word of the name, the initial of the last)
    full_name               "Ann Lopez" (the name as entered, spaces tidied)

and whether the winner's country follows the name ("Ann L., Germany"). A name published is a
disclosure to the public (GDPR Art. 13(1)(e), 15(1)(c)); a name is rendered when read, from the
winner's current data, so an erased winner (Art. 17) reads ``NAME_WITHDRAWN``.

A third-party sponsor receives entries "as a condition for participation" (the policy's second
paragraph): only the fields whose category the sponsor is declared to receive AND that were
collected for a purpose the sponsor is declared for (purpose limitation, Art. 5(1)(b);
minimisation, Art. 5(1)(c)). A field collected for fraud prevention only stays with us even when
its category is one the sponsor may receive for another purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from charter.domain.categories import covered_by_any

NONE = "none"
FIRST_NAME_AND_INITIAL = "first_name_and_initial"
FULL_NAME = "full_name"
RULES = (NONE, FIRST_NAME_AND_INITIAL, FULL_NAME)
NAME_WITHDRAWN = "Name withdrawn"


def published_name(full_name: str, rule: str) -> str | None:
    """The part of ``full_name`` the rule lets us publish; ``None`` when it names nobody (the
    rule ``none``, or a name with no letter in it).

    ``first_name_and_initial`` keeps the first word and the first letter of the last word:
    "Ann Marie Lopez" -> "Ann L."; "O'Brien" keeps its "O"; a single word stays as it is
    ("Ann"). ``full_name`` tidies the spaces only."""
    if rule not in RULES:
        raise ValueError(f"unknown winner rule {rule!r}")
    words = full_name.split()
    if rule == NONE or not words or not any(c.isalpha() for c in full_name):
        return None
    if rule == FULL_NAME:
        return " ".join(words)
    if len(words) == 1:
        return words[0]
    initial = next((c for c in words[-1] if c.isalpha()), None)
    return words[0] if initial is None else f"{words[0]} {initial.upper()}."


def winner_line(name: str | None, country: str | None) -> str:
    """One line of an announcement: the name (or that it was withdrawn) and the country."""
    shown = name or NAME_WITHDRAWN
    return f"{shown}, {country}" if country and name else shown


def unnamed_sentence(count: int) -> str:
    """What an announcement under the rule ``none`` says: the count, and why no names."""
    drawn = "1 winner was drawn" if count == 1 else f"{count} winners were drawn"
    return f"{drawn}; the rules do not allow their names to be published."


def sponsor_purposes(
    touchpoint_purposes: Sequence[str], sponsor_purposes: Iterable[str]
) -> list[str]:
    """The touchpoint's purposes the sponsor is declared for (in the touchpoint's order): the
    purposes under which entries are passed to it. Empty: nothing may be passed."""
    declared = set(sponsor_purposes)
    return [p for p in touchpoint_purposes if p in declared]


@dataclass(frozen=True, slots=True)
class Collected:
    """One value of an entry: the field (or ``identities.KIND``), its category, and the
    purposes it was collected for."""

    field: str
    category: str
    purposes: tuple[str, ...]


def for_sponsor(
    values: Iterable[Collected], categories: Sequence[str], purposes: Sequence[str]
) -> list[Collected]:
    """The values a sponsor receives: of a category it is declared to receive (``categories``,
    a parent covering its children) and collected for one of ``purposes`` (those of
    ``sponsor_purposes``); in the order given."""
    wanted = set(purposes)
    return [
        value
        for value in values
        if covered_by_any(value.category, categories) and wanted.intersection(value.purposes)
    ]
