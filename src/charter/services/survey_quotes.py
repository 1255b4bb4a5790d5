"""The quotes of a published survey result: who may be quoted, the record of each quote, and
which quotes still show when the result is read (``charter.services.surveys``).

Apart from the counts because a quote is about one person, where a count is about no one: it
is published only while that person's decision for the survey's ``attribution_purpose`` allows
it (consent to that brand given and not withdrawn, no objection, no restriction; GDPR Art. 6(1)(a),
7(3), 21, 18), it is a ``public_posting`` disclosure about them (their access report lists it,
Art. 15(1)(c)), and it points at their sealed values rather than copying them, so an erasure
(Art. 17) removes it and a withdrawal hides it at the next read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import aliased

from charter.domain import surveys as survey_rules
from charter.domain.disclosures import DisclosureKind
from charter.domain.surveys import Answer
from charter.manifest.models import SurveyRules, Touchpoint
from charter.services.decisions import DecisionService
from charter.services.disclosures import DisclosureService
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import identities, personal_values, survey_quotes


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    name: str


def quote_problems(touchpoint: Touchpoint, survey: SurveyRules) -> list[str]:
    """What keeps the survey's quote rules from resolving (lint ``survey_rules_resolve``)."""
    problems = [
        f"{attribute}: not a field of the touchpoint"
        for attribute in ("quote_field", "name_field")
        if getattr(survey, attribute) not in touchpoint.fields
    ]
    if survey.attribution_purpose not in touchpoint.consent_purposes:
        problems.append("attribution_purpose: not a consent purpose of the touchpoint")
    return problems


@dataclass(frozen=True, slots=True)
class QuoteRef:
    """Where a published quote's values are: its author, brand, and the ids of the comment's
    and the name's stored values (a quote points at them rather than copying them)."""

    person: str
    brand: str
    quote_value: int
    name_value: int


def quote_categories(touchpoint: Touchpoint, survey: SurveyRules) -> list[str]:
    """The categories a quote discloses: its name's and its comment's."""
    assert survey.quote_field and survey.name_field
    return list(
        dict.fromkeys(
            touchpoint.fields[f].category for f in (survey.name_field, survey.quote_field)
        )
    )


class SurveyQuotes:
    def __init__(
        self, store: Store, decisions: DecisionService, disclosures: DisclosureService
    ) -> None:
        self.store = store
        self.decisions = decisions
        self.disclosures = disclosures

    def publishable(
        self, touchpoint: Touchpoint, survey: SurveyRules, answers: Sequence[Answer[str]]
    ) -> list[tuple[Quote, QuoteRef]]:
        """The quotes publishable now (rule 4 of the domain module), oldest answer first."""
        assert survey.quote_field and survey.name_field and survey.attribution_purpose
        signed = survey_rules.latest_signed(answers, survey.quote_field, survey.name_field)
        categories = quote_categories(touchpoint, survey)
        allowed = self.allowed(
            survey.attribution_purpose,
            categories,
            [(person, quote.brand) for person, (quote, _) in signed.items()],
        )
        found: list[tuple[Quote, QuoteRef]] = []
        for person, (quote, name) in sorted(signed.items(), key=lambda i: (i[1][0].at, i[0])):
            name_value = name.value if name is not None else None
            if not survey_rules.quotable(allowed.get(person, False), quote.value, name_value):
                continue
            assert name is not None and isinstance(quote.value, str)
            found.append(
                (
                    Quote(survey_rules.quote_text(quote.value), str(name_value).strip()),
                    QuoteRef(person, quote.brand, quote.order, name.order),
                )
            )
        return found

    def allowed(
        self, purpose: str, categories: list[str], people: Iterable[tuple[str, str]]
    ) -> dict[str, bool]:
        """Whether each (person, brand)'s decision for ``purpose`` allows the use now."""
        by_brand: dict[str, list[str]] = {}
        for person, brand in people:
            by_brand.setdefault(brand, []).append(person)
        allowed: dict[str, bool] = {}
        for brand, subject_ids in by_brand.items():
            decisions = self.decisions.decide_many(brand, purpose, categories, subject_ids)
            for subject_id, decision in zip(subject_ids, decisions, strict=True):
                allowed[subject_id] = decision.allowed
        return allowed

    def record(
        self,
        connection: Connection,
        release_id: str,
        survey: SurveyRules,
        recipient: str,
        categories: list[str],
        quotes: Sequence[tuple[Quote, QuoteRef]],
        actor: str,
        now: dt.datetime,
    ) -> None:
        """Each quote: a public posting about its author, and the row pointing at the values."""
        if not quotes:
            return
        assert survey.attribution_purpose is not None
        lookups = _lookups(connection, [ref.person for _, ref in quotes])
        for position, (_, ref) in enumerate(quotes):
            disclosure_id = self.disclosures.record_about(
                connection,
                kind=DisclosureKind.PUBLIC_POSTING,
                recipient=recipient,
                brand=ref.brand,
                subject_id=ref.person,
                lookups=lookups.get(ref.person, []),
                categories=categories,
                purposes=[survey.attribution_purpose],
                note=f"Comment quoted with the name given, in survey result {release_id}.",
                actor=actor,
                now=now,
            )
            connection.execute(
                survey_quotes.insert().values(
                    release_id=release_id,
                    position=position,
                    quote_value_id=ref.quote_value,
                    name_value_id=ref.name_value,
                    disclosure_id=disclosure_id,
                )
            )

    def shown(
        self,
        touchpoint: Touchpoint,
        survey: SurveyRules,
        stored: Sequence[tuple[str, str, Any, Any]],
    ) -> list[Quote]:
        """Of a result's quotes still held (``stored``), those whose author's permission stands
        now; the survey's quote rules resolve (``quote_problems`` is empty)."""
        assert survey.attribution_purpose is not None
        allowed = self.allowed(
            survey.attribution_purpose,
            quote_categories(touchpoint, survey),
            [(person, brand) for person, brand, _, _ in stored],
        )
        return [
            Quote(survey_rules.quote_text(text), name.strip())
            for person, _, text, name in stored
            if survey_rules.quotable(allowed.get(person, False), text, name)
        ]

    def stored(self, connection: Connection, release_id: str) -> list[tuple[str, str, Any, Any]]:
        """(person, brand, quote, name) of a result's quotes still held, in published order."""
        quote = aliased(personal_values)
        name = aliased(personal_values)
        rows = connection.execute(
            select(
                quote.c.subject_id,
                quote.c.brand,
                quote.c.touchpoint,
                quote.c.field.label("quote_field"),
                quote.c.value_sealed.label("quote_sealed"),
                name.c.subject_id.label("name_subject"),
                name.c.touchpoint.label("name_touchpoint"),
                name.c.field.label("name_field"),
                name.c.value_sealed.label("name_sealed"),
            )
            .select_from(survey_quotes)
            .join(quote, quote.c.id == survey_quotes.c.quote_value_id)
            .join(name, name.c.id == survey_quotes.c.name_value_id)
            .where(survey_quotes.c.release_id == release_id)
            .order_by(survey_quotes.c.position)
        ).all()
        repo = SubjectRepository(connection, self.store.vault)
        found = []
        for r in rows:
            if r.name_subject != r.subject_id:  # both moved together on a merge; never apart
                continue
            text = repo.open_value(r.subject_id, r.touchpoint, r.quote_field, r.quote_sealed)
            signed = repo.open_value(r.subject_id, r.name_touchpoint, r.name_field, r.name_sealed)
            found.append((r.subject_id, r.brand, text, signed))
        return found


def _lookups(connection: Connection, subject_ids: Sequence[str]) -> dict[str, list[str]]:
    """The keyed hashes (``kind:hex``) of each person's identities, for the disclosure records
    (they find the record again after a merge, and name no one once the person is erased)."""
    found: dict[str, list[str]] = {}
    for start in range(0, len(subject_ids), 500):
        chunk = sorted(set(subject_ids[start : start + 500]))
        for row in connection.execute(
            select(identities.c.subject_id, identities.c.kind, identities.c.lookup_hash).where(
                identities.c.subject_id.in_(chunk)
            )
        ):
            found.setdefault(row.subject_id, []).append(
                f"{row.kind}:{bytes(row.lookup_hash).hex()}"
            )
    return found
