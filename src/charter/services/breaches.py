"""The breach register (GDPR Art. 33, 34): record, notify, remind.

- **Record** every breach (Art. 33(5)): what happened, when the company became aware (the
  72-hour clock of Art. 33(1) starts there), the systems (manifest ``systems`` keys, and
  ``charter`` for Charter's own store) and data categories involved (manifest keys or groups
  such as ``user.contact``), the risk with its reasons, the likely consequences and the
  measures. The people concerned are counted at once (``charter.services.breach_counts``).
- **Notify the authority** in numbered phases (Art. 33(4)), each stored with the text sent; the
  first one after 72 hours needs the reasons for the delay.
- **Notify the people** when the risk is high (Art. 34), unless an Art. 34(3) exemption is
  recorded: one message to each subject of Charter's store concerned who has an e-mail
  address, queued through the outbox batch by batch (resumable after a crash: each batch
  commits with its place in the list).
- **Remind** the privacy team at 48, 24 and 6 hours left for an authority notice, once each.

Every step is a line of the breach's history (``breach_events``) and an audit event in the same
transaction; neither holds personal data of the people concerned (counts, categories, ids).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from charter.domain import breaches as rules
from charter.domain.breaches import CHARTER_SYSTEM, BreachStatus, Exemption, Risk
from charter.domain.categories import covers
from charter.domain.errors import InvalidInput, InvalidValue
from charter.services import breach_notices as texts
from charter.services.breach_authority import BreachAuthority
from charter.services.breach_records import (
    BreachView,
    breach_event,
    breach_row,
    in_utc,
    stripped,
)
from charter.services.mail_language import content_language, recorded_languages, texts_for
from charter.services.mail_texts import MailTexts
from charter.services.outbox import Message
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import breaches, submissions

BATCH = 500
"""People told per transaction: a crash loses at most one batch's work, which is redone."""


@dataclass(frozen=True)
class NewBreach:
    title: str
    description: str
    aware_at: dt.datetime
    systems: Sequence[str]
    categories: Sequence[str]
    risk: str
    risk_reasons: str
    consequences: str
    measures: str
    occurred_at: dt.datetime | None = None
    contained_at: dt.datetime | None = None
    advice: str | None = None
    """What people can do to protect themselves (the notice to them, Art. 34(2))."""
    summary: str | None = None
    """What happened in plain words, for the people, when the description is technical."""


@dataclass(frozen=True)
class PeopleNotified:
    messages: int
    """Messages queued by this call (all of them unless a crash interrupted an earlier one)."""
    total: int
    brands: dict[str, int]


class BreachService(BreachAuthority):
    """The breach register (see the module docstring): recording, counting and telling the
    people here; reading in ``breach_records``, the authority and its reminders in
    ``breach_authority``."""

    # -- recording ------------------------------------------------------------------------------

    def record(self, new: NewBreach, actor: str) -> BreachView:
        """Record a breach (see the module docstring); refused whole (422 naming the field)
        when a system or category is unknown, a time is impossible or a reason is missing."""
        now = self.clock()
        try:
            risk = Risk(new.risk)
        except ValueError:
            raise InvalidValue(
                f"risk: one of {', '.join(r.value for r in Risk)}", code="invalid_value"
            ) from None
        text = {
            "title": new.title,
            "description": new.description,
            "consequences": new.consequences,
            "measures": new.measures,
        }
        for name, value in text.items():
            if not printable(value, name).strip():
                raise InvalidValue(f"{name}: required")
        for name, optional in (
            ("risk_reasons", new.risk_reasons),
            ("advice", new.advice),
            ("summary", new.summary),
        ):
            if optional is not None:
                printable(optional, name)
        systems = self._systems(new.systems)
        categories = self._categories(new.categories)
        for name, moment in (
            ("aware_at", new.aware_at),
            ("occurred_at", new.occurred_at),
            ("contained_at", new.contained_at),
        ):
            if moment is not None and moment.utcoffset() is None:
                raise InvalidValue(f"{name}: give the time zone (for example 'Z' for UTC)")
        refused = rules.recording_refusal(
            risk, new.risk_reasons, new.aware_at, new.occurred_at, now
        )
        if refused:
            raise InvalidValue(refused)
        if new.contained_at is not None and new.contained_at > now:
            raise InvalidValue("contained_at: cannot be in the future")
        affected = self.counter.count(systems, categories)
        breach_id = str(uuid.uuid4())
        state = rules.status(risk, authority_notified=False, people_told=False, people_exempt=False)
        with self.store.write() as connection:
            connection.execute(
                insert(breaches).values(
                    id=breach_id,
                    title=new.title.strip(),
                    description=new.description.strip(),
                    status=state.value,
                    aware_at=new.aware_at.astimezone(dt.UTC),
                    occurred_at=in_utc(new.occurred_at),
                    contained_at=in_utc(new.contained_at),
                    recorded_at=now,
                    recorded_by=actor,
                    systems=systems,
                    categories=categories,
                    risk=risk.value,
                    risk_reasons=new.risk_reasons.strip(),
                    consequences=new.consequences.strip(),
                    measures=new.measures.strip(),
                    affected_count=affected.people,
                    reminders_sent=[],
                    details={
                        "advice": stripped(new.advice),
                        "summary": stripped(new.summary),
                        "affected": affected.as_json(),
                    },
                )
            )
            note = f"risk {risk.value}; {affected.people} people counted" + (
                "" if affected.complete else " (some systems not counted)"
            )
            breach_event(connection, breach_id, now, "recorded", actor, note)
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="breach.recorded",
                target=breach_id,
                details={
                    "risk": risk.value,
                    "systems": systems,
                    "categories": categories,
                    "affected_count": affected.people,
                },
            )
        return self.view(breach_id)

    def _systems(self, given: Sequence[str]) -> list[str]:
        known = [CHARTER_SYSTEM, *self.manifest.systems]
        if not given:
            raise InvalidValue(
                f"systems: name at least one ({', '.join(known)}; '{CHARTER_SYSTEM}' is "
                "Charter's own store)"
            )
        for key in given:
            if key not in known:
                raise InvalidValue(
                    f"systems: '{key}' is not a system of the manifest (one of {', '.join(known)})"
                )
        return sorted(set(given), key=known.index)

    def _categories(self, given: Sequence[str]) -> list[str]:
        declared = list(self.manifest.data_categories)
        if not given:
            raise InvalidValue("categories: name at least one data category (Art. 33(3)(a))")
        for key in given:
            # A group key (user.contact) is accepted when it covers a declared category.
            if not any(covers(key, category) for category in declared):
                raise InvalidValue(
                    f"categories: '{key}' is not a data category of the manifest, nor a group "
                    "of one"
                )
        return sorted(set(given))

    # -- counting the people concerned ----------------------------------------------------------

    def recount(self, breach_id: str, actor: str) -> BreachView:
        """Count the people concerned again (a system connected since, more data erased ...)."""
        view = self.view(breach_id)
        affected = self.counter.count(view.systems, view.categories)
        now = self.clock()
        with self.store.write() as connection:
            row = breach_row(connection, breach_id, for_update=True)
            connection.execute(
                update(breaches)
                .where(breaches.c.id == breach_id)
                .values(
                    affected_count=affected.people,
                    details={**row.details, "affected": affected.as_json()},
                )
            )
            breach_event(
                connection, breach_id, now, "recounted", actor, f"{affected.people} people"
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="breach.recounted",
                target=breach_id,
                details={"affected_count": affected.people, "complete": affected.complete},
            )
        return self.view(breach_id)

    # -- the people -----------------------------------------------------------------------------

    def people_notice(
        self, breach_id: str, brand: str | None = None, language: str | None = None
    ) -> tuple[str, str]:
        """The draft of the message to the people (subject, body), in ``brand``'s name and in
        ``language`` if offered, else in the brand's (``charter.domain.languages``)."""
        view = self.view(breach_id)
        brand = self._brand(brand)
        t = texts_for(self.manifest, None, brand=brand, requested=language)
        return texts.people_notice(self.manifest, self.facts(view), brand, t)

    def _brand(self, brand: str | None) -> str:
        if brand is None:
            return next(iter(self.manifest.brands))
        if brand not in self.manifest.brands:
            raise InvalidInput(f"brand: no brand '{brand}' in the manifest", code="unknown_brand")
        return brand

    def exempt_people(
        self,
        breach_id: str,
        actor: str,
        *,
        ground: str,
        reasons: str,
        public_communication: str = "",
    ) -> BreachView:
        """Record that the people need not be told one by one (Art. 34(3)), with the reasons."""
        try:
            exemption = Exemption(ground)
        except ValueError:
            raise InvalidValue(f"ground: one of {', '.join(e.value for e in Exemption)}") from None
        printable(reasons, "reasons")
        printable(public_communication, "public_communication")
        now = self.clock()
        with self.store.write() as connection:
            row = breach_row(connection, breach_id, for_update=True)
            details = dict(row.details)
            refused = rules.exemption_refusal(
                Risk(row.risk),
                exemption,
                reasons,
                public_communication,
                told=row.people_notified_at is not None or "people" in details,
            )
            if refused:
                raise InvalidInput(refused, code="exemption_refused")
            details["exemption"] = {
                "ground": exemption.value,
                "reasons": reasons.strip(),
                "public_communication": stripped(public_communication),
                "at": now.isoformat(),
                "by": actor,
            }
            connection.execute(
                update(breaches)
                .where(breaches.c.id == breach_id)
                .values(
                    people_reasons=reasons.strip(),
                    details=details,
                    status=self._status(row, people_exempt=True).value,
                )
            )
            breach_event(connection, breach_id, now, "people_exempted", actor, exemption.value)
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="breach.people_exempted",
                target=breach_id,
                details={"ground": exemption.value},
            )
        return self.view(breach_id)

    def notify_people(
        self,
        breach_id: str,
        actor: str,
        *,
        advice: str | None = None,
        summary: str | None = None,
    ) -> PeopleNotified:
        """Tell each person concerned (Art. 34(1)): one message per subject of Charter's store
        concerned who has an e-mail address, in the name of the brand they last dealt with.

        These are not marketing: they go whatever the person's marketing preferences,
        objections or unsubscribes (the preference checks of ``PreferenceService`` are not
        asked, and no unsubscribe link is added); the law requires that every person concerned
        hears of a high risk to them. Queued batch by batch, each batch committing with its
        place in the list: called again after a crash, it resumes where it stopped. Refused once
        done, when an exemption was recorded, or without advice on what people can do."""
        for name, value in (("advice", advice), ("summary", summary)):
            if value is not None:
                printable(value, name)
        now = self.clock()
        with self.store.write() as connection:
            row = breach_row(connection, breach_id, for_update=True)
            details = dict(row.details)
            if row.people_notified_at is not None:
                raise InvalidInput("the people were already told", code="already_notified")
            if details.get("exemption"):
                raise InvalidInput(
                    "an exemption from telling the people was recorded (GDPR Art. 34(3))",
                    code="exempted",
                )
            if stripped(advice):
                details["advice"] = stripped(advice)
            if stripped(summary):
                details["summary"] = stripped(summary)
            if not details.get("advice"):
                raise InvalidValue(
                    "advice: say what people can do to protect themselves (GDPR Art. 34(2))"
                )
            progress = details.get("people") or {
                "cursor": "",
                "messages": 0,
                "brands": {},
                "started_at": now.isoformat(),
            }
            details["people"] = progress
            connection.execute(
                update(breaches)
                .where(breaches.c.id == breach_id)
                .values(details=details, status=BreachStatus.NOTIFYING_PEOPLE.value)
            )
            breach_event(connection, breach_id, now, "people_notice_started", actor, None)
        view = self.view(breach_id)
        facts = self.facts(view)
        subjects = self.counter.subjects(view.categories)
        queued = 0
        rendered: dict[tuple[str, str], tuple[str, str, dict[str, str]]] = {}
        while subjects is not None:
            with self.store.write() as connection:
                row = breach_row(connection, breach_id, for_update=True)
                details = dict(row.details)
                progress = dict(details["people"])
                batch = list(
                    connection.scalars(
                        select(subjects.c.subject_id)
                        .where(subjects.c.subject_id > progress["cursor"])
                        .order_by(subjects.c.subject_id)
                        .limit(BATCH)
                    )
                )
                if not batch:
                    break
                brands = self._brands_of(connection, batch)
                languages = recorded_languages(connection, batch)
                repo = SubjectRepository(connection, self.store.vault)
                sent = 0
                counts = dict(progress["brands"])
                for subject_id in batch:
                    email = next(
                        (v for kind, v in repo.identities_of(subject_id) if kind == "email"), None
                    )
                    if email is None:
                        continue  # no address to write to: counted, not told
                    brand = brands.get(subject_id) or self._brand(None)
                    t = texts_for(
                        self.manifest, None, brand=brand, recorded=languages.get(subject_id)
                    )
                    if (brand, t.language) not in rendered:
                        rendered[brand, t.language] = (
                            *texts.people_notice(self.manifest, facts, brand, t),
                            content_language(t),
                        )
                    subject, body, headers = rendered[brand, t.language]
                    self.outbox.enqueue(
                        connection,
                        Message(
                            to=email,
                            subject=subject,
                            body=body,
                            kind="breach_notice",
                            sender=self.manifest.policy.controller.email,
                            headers=headers,
                        ),
                        now,
                    )
                    counts[brand] = counts.get(brand, 0) + 1
                    spoken = dict(progress.get("languages", {}))
                    spoken[brand] = sorted({*spoken.get(brand, ()), t.language})
                    progress["languages"] = spoken
                    sent += 1
                progress.update(
                    cursor=batch[-1], messages=progress["messages"] + sent, brands=counts
                )
                details["people"] = progress
                connection.execute(
                    update(breaches).where(breaches.c.id == breach_id).values(details=details)
                )
                breach_event(
                    connection,
                    breach_id,
                    now,
                    "people_notice_batch",
                    actor,
                    f"{sent} messages queued for {len(batch)} people concerned",
                )
                append_audit(
                    connection,
                    at=now,
                    actor=actor,
                    action="breach.people_notice_batch",
                    target=breach_id,
                    details={"messages": sent, "people": len(batch)},
                )
                queued += sent
        with self.store.write() as connection:
            row = breach_row(connection, breach_id, for_update=True)
            details = dict(row.details)
            progress = details["people"]
            total = int(progress["messages"])
            if row.people_notified_at is not None:  # a concurrent call finished it first
                return PeopleNotified(queued, total, dict(progress["brands"]))
            # What was sent, per brand and language (no recipient in it): the record of
            # Art. 33(5).
            texts_sent = {
                brand: {
                    language: texts.people_notice(self.manifest, facts, brand, MailTexts(language))[
                        1
                    ]
                    for language in languages
                }
                for brand, languages in progress.get("languages", {}).items()
            }
            details["people"] = {**progress, "texts": texts_sent}
            connection.execute(
                update(breaches)
                .where(breaches.c.id == breach_id)
                .values(
                    people_notified_at=now,
                    details=details,
                    status=self._status(row, people_told=True, notifying=False).value,
                )
            )
            breach_event(
                connection, breach_id, now, "people_notified", actor, f"{total} messages queued"
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="breach.people_notified",
                target=breach_id,
                details={"messages": total, "brands": progress["brands"]},
            )
        self.outbox.deliver()
        return PeopleNotified(queued, total, dict(progress["brands"]))

    def _brands_of(self, connection: Connection, subject_ids: list[str]) -> dict[str, str]:
        """Each subject's brand: the one of their latest submission."""
        latest: dict[str, str] = {}
        for found in connection.execute(
            select(submissions.c.subject_id, submissions.c.brand)
            .where(submissions.c.subject_id.in_(subject_ids))
            .order_by(submissions.c.received_at, submissions.c.id)
        ):
            if found.brand in self.manifest.brands:
                latest[found.subject_id] = found.brand
        return latest
