"""Published survey results (``charter.domain.surveys`` states the rules; this module runs them).

``publish`` makes one result of a survey touchpoint (its manifest ``survey`` rules):

1. **Counts.** The stored answers to the ``results`` fields are read and opened (each under its
   person's key), one per person and field kept (the latest), counted per declared choice,
   noised (OpenDP's discrete Laplace, scale ``fields / epsilon``) and suppressed below the
   manifest's ``statistics.k``. No total is published.
2. **The budget.** A survey touchpoint is one dataset of the privacy-budget ledger,
   ``survey:<touchpoint>`` (rows of ``stat_releases``, as for the event lake): the epsilons of
   its results add up, and a result that would take the sum past
   ``statistics.epsilon_budget`` is refused (``budget_exhausted``), recording nothing.
3. **Quotes** (``quotes: true``, a touchpoint with a ``quote_field``): the latest comment of
   each person whose decision for the ``attribution_purpose`` allows it now (consent given to
   that brand, not withdrawn, no objection, no restriction; ``DecisionService``), signed with
   the name given with it. Nobody else is quoted, signed or not (see the domain module).
4. **Records**, in one transaction: the ``stat_releases`` row (counts and parameters), an
   aggregate disclosure to the manifest's public recipient, one ``public_posting`` disclosure
   per quote (about that person: their access report lists it, Art. 15(1)(c)), the
   ``survey_quotes`` rows, and the audit entry (counts only).

``result`` reads a published result for anyone (the page and the public API): the counts as
published, and the quotes whose author's permission still stands *now*. A quote points at its
author's sealed values rather than copying them, so an erasure (which deletes the values, and
with the person's key makes any copy unreadable) removes it; a withdrawal, an objection or a
restriction hides it at the next read. The disclosure records stay as evidence (Art. 5(2)),
naming no one once the person is erased. The quotes are ``charter.services.survey_quotes``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, func, select

from charter.domain import release as rules
from charter.domain import surveys as survey_rules
from charter.domain.clock import Clock
from charter.domain.errors import InvalidInput, InvalidValue, NotFound
from charter.domain.surveys import Answer
from charter.manifest.models import Manifest, RecipientKind, SurveyRules, Touchpoint
from charter.services.brands import require_brand
from charter.services.decisions import DecisionService
from charter.services.disclosures import DisclosureService
from charter.services.laplace import laplace_int
from charter.services.survey_quotes import Quote, SurveyQuotes, quote_categories, quote_problems
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import personal_values, stat_releases
from charter.storage.vault import Vault

DATASET_PREFIX = "survey:"
"""The budget ledger's dataset of a survey touchpoint is ``survey:<touchpoint>``."""
MAX_TITLE = 200


@dataclass(frozen=True, slots=True)
class ResultRequest:
    touchpoint: str
    title: str
    brand: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    epsilon: float | None = None
    quotes: bool = False


@dataclass(frozen=True, slots=True)
class SurveyResult:
    id: str
    touchpoint: str
    touchpoint_name: str
    brand: str | None
    title: str
    since: dt.datetime | None
    until: dt.datetime | None
    published_at: dt.datetime
    epsilon: float
    noise_scale: float
    k: int
    fields: list[dict[str, Any]]
    """Per published field: ``{"field", "choices": [{"choice", "count"}]}``, count None when
    suppressed."""
    suppressed: int
    quotes: list[Quote]
    recipient: str
    disclosure_id: str | None


@dataclass(frozen=True, slots=True)
class ResultSummary:
    id: str
    touchpoint: str
    brand: str | None
    title: str
    published_at: dt.datetime
    published_by: str
    epsilon: float
    suppressed: int
    quotes: int
    """Quotes published at the time (some may since be hidden)."""
    disclosure_id: str | None


@dataclass(frozen=True, slots=True)
class Budget:
    dataset: str
    budget: float
    spent: float


class SurveyService:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        decisions: DecisionService,
        disclosures: DisclosureService,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.disclosures = disclosures
        self.quotes = SurveyQuotes(store, decisions, disclosures)

    # -- publishing ----------------------------------------------------------------------------

    def publish(self, request: ResultRequest, actor: str) -> SurveyResult:
        """Make, record and return one published result (see the module docstring)."""
        key, touchpoint, rules_of = self._survey(request.touchpoint)
        settings = self.manifest.statistics
        if request.brand is not None:
            require_brand(self.manifest, request.brand)
            if request.brand not in self.manifest.touchpoint_brands(touchpoint):
                raise InvalidInput(
                    f"touchpoint '{key}' is not offered by brand '{request.brand}'",
                    code="brand_not_offered",
                )
        title = printable(request.title or "", "title").strip()
        if not title or len(title) > MAX_TITLE:
            raise InvalidValue(f"title: 1 to {MAX_TITLE} characters")
        survey_rules.check_period(request.since, request.until)
        epsilon = rules.check_epsilon(
            settings.epsilon if request.epsilon is None else request.epsilon
        )
        if request.quotes and rules_of.quote_field is None:
            raise InvalidValue(
                f"quotes: touchpoint '{key}' publishes no quotes (its survey has no quote_field)"
            )
        _check_rules(key, touchpoint, rules_of, quoting=request.quotes)
        recipient = self._public_recipient(rules_of, quoting=request.quotes)
        dataset = DATASET_PREFIX + key
        with self.store.read() as connection:
            rules.check_budget(_spent(connection, dataset), settings.epsilon_budget, epsilon)

        fields = list(rules_of.results)
        wanted = set(fields)
        if request.quotes:
            assert rules_of.quote_field is not None and rules_of.name_field is not None
            wanted |= {rules_of.quote_field, rules_of.name_field}
        with self.store.read() as connection:
            answers = _answers(
                connection,
                self.store.vault,
                key,
                wanted,
                brand=request.brand,
                since=request.since,
                until=request.until,
            )
        latest = list(survey_rules.latest_answers(a for a in answers if a.field in fields).values())
        scale = survey_rules.field_scale(len(fields), epsilon)
        released: list[dict[str, Any]] = []
        suppressed = 0
        for name in fields:
            choices = touchpoint.fields[name].choices or []
            true = survey_rules.choice_counts(choices, latest, name)
            noisy = dict(
                zip(true, map(float, laplace_int(list(true.values()), scale)), strict=True)
            )
            counts = survey_rules.released_counts(noisy, settings.k)
            suppressed += sum(1 for v in counts.values() if v is None)
            released.append(
                {"field": name, "choices": [{"choice": c, "count": n} for c, n in counts.items()]}
            )
        quotes = self.quotes.publishable(touchpoint, rules_of, answers) if request.quotes else []
        quoted = quote_categories(touchpoint, rules_of) if quotes else []

        now = self.clock()
        release_id = str(uuid.uuid4())
        query = {
            "touchpoint": key,
            "brand": request.brand,
            "title": title,
            "since": request.since.astimezone(dt.UTC).isoformat() if request.since else None,
            "until": request.until.astimezone(dt.UTC).isoformat() if request.until else None,
            "fields": fields,
            "quotes": request.quotes,
        }
        parameters = {
            "k": settings.k,
            "sensitivity": 1.0,
            "epsilon_per_field": epsilon / len(fields),
            "mechanism": "laplace (OpenDP), epsilon split evenly over the fields",
            "person": "each person's latest answer to each field",
        }
        categories = list(dict.fromkeys(touchpoint.fields[f].category for f in fields))
        with self.store.write() as connection:
            if connection.dialect.name == "postgresql":
                # The budget check and the record must not interleave with another release's.
                connection.exec_driver_sql("LOCK TABLE stat_releases IN SHARE ROW EXCLUSIVE MODE")
            rules.check_budget(_spent(connection, dataset), settings.epsilon_budget, epsilon)
            disclosure_id = self.disclosures.record_aggregate(
                connection,
                recipient=recipient,
                recipient_name=self.manifest.recipients[recipient].name,
                categories=categories,
                note=f"Survey result {release_id} of touchpoint {key}: counts of "
                f"{', '.join(fields)}, epsilon {epsilon:g}, k {settings.k}.",
                actor=actor,
                now=now,
            )
            connection.execute(
                stat_releases.insert().values(
                    id=release_id,
                    dataset=dataset,
                    query=query,
                    parameters=parameters,
                    epsilon=epsilon,
                    noise_scale=scale,
                    recipient=recipient,
                    recipient_name=self.manifest.recipients[recipient].name,
                    disclosure_id=disclosure_id,
                    created_at=now,
                    created_by=actor,
                    result={"fields": released, "suppressed": suppressed, "quotes": len(quotes)},
                )
            )
            self.quotes.record(
                connection, release_id, rules_of, recipient, quoted, quotes, actor, now
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="survey.results_published",
                target=release_id,
                details={
                    "touchpoint": key,
                    "brand": request.brand,
                    "fields": fields,
                    "epsilon": epsilon,
                    "suppressed": suppressed,
                    "quotes": len(quotes),
                    "disclosure": disclosure_id,
                },
            )
        return SurveyResult(
            id=release_id,
            touchpoint=key,
            touchpoint_name=touchpoint.name,
            brand=request.brand,
            title=title,
            since=request.since,
            until=request.until,
            published_at=now,
            epsilon=epsilon,
            noise_scale=scale,
            k=settings.k,
            fields=released,
            suppressed=suppressed,
            quotes=[quote for quote, _ in quotes],
            recipient=recipient,
            disclosure_id=disclosure_id,
        )

    def _survey(self, key: str) -> tuple[str, Touchpoint, SurveyRules]:
        touchpoint = self.manifest.touchpoints.get(key)
        if touchpoint is None:
            raise NotFound(f"no touchpoint '{key}' in the manifest", code="unknown_touchpoint")
        if touchpoint.survey is None:
            raise InvalidInput(
                f"touchpoint '{key}' has no survey rules (touchpoints.{key}.survey)",
                code="not_a_survey",
            )
        return key, touchpoint, touchpoint.survey

    def _public_recipient(self, survey: SurveyRules, *, quoting: bool) -> str:
        """The manifest's public recipient results are published to: for quotes, one declared
        for the attribution purpose (lint rule ``survey_rules_resolve``)."""
        public = [k for k, r in self.manifest.recipients.items() if r.kind is RecipientKind.PUBLIC]
        if quoting:
            public = [
                k
                for k in public
                if survey.attribution_purpose in self.manifest.recipients[k].purposes
            ]
        if not public:
            wanted = f" declared for '{survey.attribution_purpose}'" if quoting else ""
            raise InvalidInput(
                f"recipients: no recipient of kind public{wanted}; the manifest does not say "
                "survey results are published",
                code="undeclared_disclosure",
            )
        return public[0]

    # -- reading -------------------------------------------------------------------------------

    def result(self, release_id: str) -> SurveyResult:
        """A published result as anyone may read it: the counts as published and the quotes
        whose author's permission stands now."""
        with self.store.read() as connection:
            row = connection.execute(
                select(stat_releases).where(
                    stat_releases.c.id == release_id,
                    stat_releases.c.dataset.startswith(DATASET_PREFIX, autoescape=True),
                )
            ).first()
            if row is None:
                raise NotFound(f"no survey result '{release_id}'", code="unknown_survey_result")
            stored = self.quotes.stored(connection, release_id)
        query = row.query
        key = str(query["touchpoint"])
        touchpoint = self.manifest.touchpoints.get(key)
        quotes: list[Quote] = []
        survey = touchpoint.survey if touchpoint is not None else None
        if (
            stored
            and touchpoint is not None
            and survey is not None
            and not quote_problems(touchpoint, survey)
        ):
            quotes = self.quotes.shown(touchpoint, survey, stored)
        # A result whose survey (or its quote rules) left the manifest keeps its counts and shows
        # no quote: nothing says any more who allowed what.
        return SurveyResult(
            id=row.id,
            touchpoint=key,
            touchpoint_name=touchpoint.name if touchpoint is not None else key,
            brand=query.get("brand"),
            title=str(query["title"]),
            since=_parse(query.get("since")),
            until=_parse(query.get("until")),
            published_at=utc(row.created_at).astimezone(dt.UTC),
            epsilon=float(row.epsilon),
            noise_scale=float(row.noise_scale),
            k=int(row.parameters["k"]),
            fields=list(row.result["fields"]),
            suppressed=int(row.result["suppressed"]),
            quotes=quotes,
            recipient=row.recipient,
            disclosure_id=row.disclosure_id,
        )

    def results(self, touchpoint: str | None = None, limit: int = 100) -> list[ResultSummary]:
        """The published results, newest first (for staff: who published what, when)."""
        query = (
            select(stat_releases)
            .where(stat_releases.c.dataset.startswith(DATASET_PREFIX, autoescape=True))
            .order_by(stat_releases.c.created_at.desc(), stat_releases.c.id)
            .limit(limit)
        )
        if touchpoint is not None:
            query = query.where(stat_releases.c.dataset == DATASET_PREFIX + touchpoint)
        with self.store.read() as connection:
            return [
                ResultSummary(
                    id=r.id,
                    touchpoint=str(r.query["touchpoint"]),
                    brand=r.query.get("brand"),
                    title=str(r.query["title"]),
                    published_at=utc(r.created_at).astimezone(dt.UTC),
                    published_by=r.created_by,
                    epsilon=float(r.epsilon),
                    suppressed=int(r.result["suppressed"]),
                    quotes=int(r.result.get("quotes", 0)),
                    disclosure_id=r.disclosure_id,
                )
                for r in connection.execute(query)
            ]

    def budget(self, touchpoint: str) -> Budget:
        """The budget of a survey touchpoint's dataset and what its results spent."""
        self._survey(touchpoint)
        dataset = DATASET_PREFIX + touchpoint
        with self.store.read() as connection:
            spent = _spent(connection, dataset)
        return Budget(dataset, self.manifest.statistics.epsilon_budget, spent)


def _check_rules(key: str, touchpoint: Touchpoint, survey: SurveyRules, *, quoting: bool) -> None:
    """What lint rule ``survey_rules_resolve`` checks, again here: a manifest loaded without
    ``charter policy check`` must be refused clearly, not fail half-way."""
    problems = [
        f"results: '{name}' is not a field with choices"
        for name in survey.results
        if name not in touchpoint.fields or touchpoint.fields[name].choices is None
    ]
    if quoting:
        problems += quote_problems(touchpoint, survey)
    if problems:
        raise InvalidInput(
            f"touchpoints.{key}.survey: {'; '.join(problems)} (see charter policy check)",
            code="survey_rules_unresolved",
        )


def _spent(connection: Connection, dataset: str) -> float:
    spent = connection.scalar(
        select(func.coalesce(func.sum(stat_releases.c.epsilon), 0.0)).where(
            stat_releases.c.dataset == dataset
        )
    )
    return float(spent or 0.0)


def _answers(
    connection: Connection,
    vault: Vault,
    touchpoint: str,
    fields: Iterable[str],
    *,
    brand: str | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> list[Answer[str]]:
    """The stored answers to ``fields`` at ``touchpoint``, opened under each person's key."""
    conditions = [
        personal_values.c.touchpoint == touchpoint,
        personal_values.c.field.in_(sorted(fields)),
    ]
    if brand is not None:
        conditions.append(personal_values.c.brand == brand)
    # In UTC: SQLite compares the stored UTC text, which carries no zone.
    if since is not None:
        conditions.append(personal_values.c.collected_at >= since.astimezone(dt.UTC))
    if until is not None:
        conditions.append(personal_values.c.collected_at < until.astimezone(dt.UTC))
    rows = connection.execute(
        select(
            personal_values.c.id,
            personal_values.c.subject_id,
            personal_values.c.submission_id,
            personal_values.c.brand,
            personal_values.c.field,
            personal_values.c.collected_at,
            personal_values.c.value_sealed,
        )
        .where(and_(*conditions))
        .order_by(personal_values.c.subject_id, personal_values.c.id)
    )
    repo = SubjectRepository(connection, vault)
    found = []
    for row in rows:
        value = repo.open_value(row.subject_id, touchpoint, row.field, row.value_sealed)
        found.append(
            Answer(
                person=row.subject_id,
                field=row.field,
                at=utc(row.collected_at),
                order=int(row.id),
                value=value,
                submission=row.submission_id,
                brand=row.brand,
            )
        )
    return found


def _parse(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
