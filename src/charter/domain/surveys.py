"""Published survey results: the rules that keep an answer from being attributed to anyone.

The policy promises: "we will not attribute any particular response to you without your
permission". A published result is therefore an **aggregate release** (the rules of
``charter.domain.release``) plus, at most, quotes of the people who allowed it:

1. **One answer per person and field.** Each person counts once per published field: their
   latest answer to it at the touchpoint (and brand, when the result is of one brand), so that
   answering the same survey twice does not count twice. Adding or removing one person thus
   moves one cell of each field by one: the L1 sensitivity of a field's counts is 1.
2. **Every declared choice listed.** Each field lists every one of its manifest ``choices``, in
   the manifest's order, answered or not: a list drawn from the data would say that somebody
   gave a rare answer. A stored answer no longer among the choices (the manifest changed since)
   is not counted.
3. **Noise, then suppression.** Laplace noise with scale ``fields / epsilon`` on every cell (the
   epsilon of the release is split evenly over its fields: sequential composition), rounded,
   and a cell whose *noisy* count is below ``k`` is published as suppressed (null). No total
   and no margin is published beside the cells: a total minus the released cells would give
   the suppressed ones back.
4. **Quotes only with permission.** A free-text answer is published only from a person whose
   decision for the attribution purpose (a consent purpose of its own) allows it *now*, signed
   with the name they gave. A person without that permission is never quoted at all, not even
   unsigned: a verbatim comment can identify its author by its content ("my shop in Leeds
   sold me the wrong cable") as surely as a name does, so "not attributed" means "not quoted".
   The check is repeated whenever the result is read: a quote whose author withdrew the
   permission, objected or was erased disappears; the counts stay (they are about no one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from charter.domain.errors import InvalidValue
from charter.domain.release import check_epsilon, noise_scale, suppress

P = TypeVar("P", bound=Hashable)

MAX_QUOTE_LENGTH = 2000
"""A quote longer than this is cut (the manifest bounds the field; an older value may not be)."""


@dataclass(frozen=True, slots=True)
class Answer(Generic[P]):
    """One stored answer: who gave it (``person``), to which field, when, and its value.
    ``order`` breaks ties between answers given at the same instant (the row's id)."""

    person: P
    field: str
    at: dt.datetime
    order: int
    value: object
    submission: str = ""
    """The submission it came with: a quote is signed with the name given in the same one."""
    brand: str = ""


def latest_answers(answers: Iterable[Answer[P]]) -> dict[tuple[P, str], Answer[P]]:
    """Each person's latest answer to each field (rule 1), by ``(person, field)``."""
    latest: dict[tuple[P, str], Answer[P]] = {}
    for answer in answers:
        key = (answer.person, answer.field)
        kept = latest.get(key)
        if kept is None or (answer.at, answer.order) > (kept.at, kept.order):
            latest[key] = answer
    return latest


def choice_counts(
    choices: Sequence[str], answers: Iterable[Answer[P]], field: str
) -> dict[str, int]:
    """The true count of each declared choice of ``field`` (rule 2), every choice present, in
    the manifest's order; answers of other fields and values not among the choices are left
    out. ``answers`` holds one answer per person and field (``latest_answers``)."""
    counts = dict.fromkeys(choices, 0)
    seen: set[P] = set()
    for answer in answers:
        if answer.field != field or not isinstance(answer.value, str):
            continue
        if answer.value in counts:
            if answer.person in seen:
                raise ValueError("choice_counts: one answer per person and field")
            seen.add(answer.person)
            counts[answer.value] += 1
    return counts


def field_scale(fields: int, epsilon: float) -> float:
    """The Laplace scale of every cell of a release of ``fields`` fields spending ``epsilon``
    in all (rule 3): each field gets ``epsilon / fields`` at sensitivity 1."""
    if fields < 1:
        raise InvalidValue("results: a survey publishes at least one field")
    return noise_scale(1.0, check_epsilon(epsilon) / fields)


def released_counts(noisy: Mapping[str, float], k: int) -> dict[str, int | None]:
    """The published count of each choice: its noisy count rounded, or None (suppressed) where
    that is below ``k`` (rule 3). Rounding first: a published 9.6 would read as 10."""
    rounded: dict[tuple[str, ...], float] = {
        (choice,): float(round(value)) for choice, value in noisy.items()
    }
    kept = suppress(rounded, k)
    return {cell[0]: (None if value is None else int(value)) for cell, value in kept.items()}


def latest_signed(
    answers: Iterable[Answer[P]], quote_field: str, name_field: str
) -> dict[P, tuple[Answer[P], Answer[P] | None]]:
    """Per person, their latest non-empty answer to ``quote_field`` with the ``name_field``
    answer of the same submission (None when that submission gave no name): a comment is
    published with the name given together with it, as the attribution notice says, never
    with a name taken from another form."""
    quotes: dict[P, Answer[P]] = {}
    names: dict[tuple[P, str], Answer[P]] = {}
    for answer in answers:
        if answer.field == name_field:
            names[(answer.person, answer.submission)] = answer
        if answer.field != quote_field:
            continue
        if not isinstance(answer.value, str) or not answer.value.strip():
            continue
        kept = quotes.get(answer.person)
        if kept is None or (answer.at, answer.order) > (kept.at, kept.order):
            quotes[answer.person] = answer
    return {
        person: (quote, names.get((person, quote.submission))) for person, quote in quotes.items()
    }


def quotable(allowed: bool, quote: object, name: object) -> bool:
    """Whether one person's answer may be published as a quote (rule 4): only with their
    permission standing now, and only signed (a non-empty quote and a non-empty name)."""
    return (
        allowed
        and isinstance(quote, str)
        and bool(quote.strip())
        and isinstance(name, str)
        and bool(name.strip())
    )


def quote_text(quote: str) -> str:
    """The quote as published: trimmed, at most ``MAX_QUOTE_LENGTH`` characters."""
    text = quote.strip()
    if len(text) <= MAX_QUOTE_LENGTH:
        return text
    return text[: MAX_QUOTE_LENGTH - 1].rstrip() + "…"


def check_period(since: dt.datetime | None, until: dt.datetime | None) -> None:
    """A result's period: times with a zone, ``since`` before ``until``."""
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidValue(f"{name}: give a time zone (e.g. Z or +01:00)")
    if since is not None and until is not None and since >= until:
        raise InvalidValue("since, until: since must come before until")
