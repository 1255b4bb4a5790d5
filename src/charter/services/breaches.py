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
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from charter.domain import breaches as rules
from charter.domain.breaches import CHARTER_SYSTEM, BreachStatus, Exemption, Risk
from charter.domain.categories import covers
from charter.domain.clock import Clock
from charter.domain.errors import InvalidInput, InvalidValue, NotFound
from charter.manifest.models import Manifest
from charter.services import breach_notices as texts
from charter.services.breach_counts import AffectedCounter, ConnectorFor
from charter.services.outbox import Message, Outbox
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.rows import row_by_id
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import breach_events, breaches, submissions

SYSTEM = "charter"
"""The actor of what Charter does by itself (reminders)."""
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
class BreachEvent:
    at: dt.datetime
    kind: str
    actor: str
    note: str | None
    phase: int | None


@dataclass(frozen=True)
class BreachView:
    id: str
    title: str
    description: str
    status: str
    risk: str
    risk_reasons: str
    aware_at: dt.datetime
    occurred_at: dt.datetime | None
    contained_at: dt.datetime | None
    recorded_at: dt.datetime
    recorded_by: str
    systems: list[str]
    categories: list[str]
    consequences: str
    measures: str
    advice: str | None
    summary: str | None
    affected_count: int | None
    affected: dict[str, Any]
    authority_required: bool
    people_required: bool
    due_at: dt.datetime
    hours_left: int | None
    """Whole hours left for the authority notice while it is awaited; negative when late."""
    authority_notified_at: dt.datetime | None
    delay_reasons: str | None
    phases: int
    people_notified_at: dt.datetime | None
    people_told: int
    exemption: dict[str, Any] | None
    reminders_sent: list[int]
    events: list[BreachEvent]

    @property
    def open(self) -> bool:
        return BreachStatus(self.status) in rules.OPEN


@dataclass(frozen=True)
class AuthorityNotice:
    phase: int
    submitted_at: dt.datetime
    late: bool
    text: str


@dataclass(frozen=True)
class PeopleNotified:
    messages: int
    """Messages queued by this call (all of them unless a crash interrupted an earlier one)."""
    total: int
    brands: dict[str, int]


class BreachService:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        outbox: Outbox,
        connector_for: ConnectorFor,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.counter = AffectedCounter(manifest, store, clock, connector_for)

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
                    occurred_at=_in_utc(new.occurred_at),
                    contained_at=_in_utc(new.contained_at),
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
                        "advice": _stripped(new.advice),
                        "summary": _stripped(new.summary),
                        "affected": affected.as_json(),
                    },
                )
            )
            note = f"risk {risk.value}; {affected.people} people counted" + (
                "" if affected.complete else " (some systems not counted)"
            )
            _event(connection, breach_id, now, "recorded", actor, note)
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
            row = _row(connection, breach_id, for_update=True)
            connection.execute(
                update(breaches)
                .where(breaches.c.id == breach_id)
                .values(
                    affected_count=affected.people,
                    details={**row.details, "affected": affected.as_json()},
                )
            )
            _event(connection, breach_id, now, "recounted", actor, f"{affected.people} people")
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="breach.recounted",
                target=breach_id,
                details={"affected_count": affected.people, "complete": affected.complete},
            )
        return self.view(breach_id)

    # -- reading --------------------------------------------------------------------------------

    def view(self, breach_id: str) -> BreachView:
        with self.store.read() as connection:
            row = _row(connection, breach_id)
            events = [
                BreachEvent(utc(e.at), e.kind, e.actor, e.note, e.phase)
                for e in connection.execute(
                    select(breach_events)
                    .where(breach_events.c.breach_id == breach_id)
                    .order_by(breach_events.c.id)
                )
            ]
        return self._view(row, events)

    def _view(self, row: Any, events: list[BreachEvent], phases: int | None = None) -> BreachView:
        risk = Risk(row.risk)
        details = row.details or {}
        state = BreachStatus(row.status)
        if phases is None:
            phases = max((e.phase or 0 for e in events if e.kind == "authority_notice"), default=0)
        return BreachView(
            id=row.id,
            title=row.title,
            description=row.description,
            status=state.value,
            risk=risk.value,
            risk_reasons=row.risk_reasons,
            aware_at=utc(row.aware_at),
            occurred_at=utc(row.occurred_at) if row.occurred_at else None,
            contained_at=utc(row.contained_at) if row.contained_at else None,
            recorded_at=utc(row.recorded_at),
            recorded_by=row.recorded_by,
            systems=list(row.systems),
            categories=list(row.categories),
            consequences=row.consequences,
            measures=row.measures,
            advice=details.get("advice"),
            summary=details.get("summary"),
            affected_count=row.affected_count,
            affected=details.get("affected", {}),
            authority_required=rules.authority_required(risk),
            people_required=rules.people_required(risk),
            due_at=rules.notice_due(utc(row.aware_at)),
            hours_left=(
                rules.hours_left(utc(row.aware_at), self.clock())
                if rules.authority_required(risk) and row.authority_notified_at is None
                else None
            ),
            authority_notified_at=(
                utc(row.authority_notified_at) if row.authority_notified_at else None
            ),
            delay_reasons=row.authority_reasons,
            phases=phases,
            people_notified_at=utc(row.people_notified_at) if row.people_notified_at else None,
            people_told=int(details.get("people", {}).get("messages", 0)),
            exemption=details.get("exemption"),
            reminders_sent=sorted(row.reminders_sent or (), reverse=True),
            events=events,
        )

    def register(self, *, open_only: bool = False) -> list[BreachView]:
        """The register: open breaches first, the authority notice due soonest first; then the
        others, the most recent first."""
        with self.store.read() as connection:
            rows = list(connection.execute(select(breaches)))
            phases = dict(
                connection.execute(
                    select(breach_events.c.breach_id, func.max(breach_events.c.phase))
                    .where(breach_events.c.kind == "authority_notice")
                    .group_by(breach_events.c.breach_id)
                ).all()
            )
        views = [self._view(row, [], int(phases.get(row.id) or 0)) for row in rows]
        if open_only:
            views = [view for view in views if view.open]
        return sorted(
            views,
            key=lambda v: (
                not v.open,
                v.hours_left is None,
                v.due_at.timestamp() if v.open else -v.aware_at.timestamp(),
                v.id,
            ),
        )

    def facts(self, view: BreachView) -> texts.NoticeFacts:
        return texts.NoticeFacts(
            id=view.id,
            title=view.title,
            description=view.description,
            risk=Risk(view.risk),
            risk_reasons=view.risk_reasons,
            aware_at=view.aware_at,
            occurred_at=view.occurred_at,
            contained_at=view.contained_at,
            systems=view.systems,
            categories=view.categories,
            consequences=view.consequences,
            measures=view.measures,
            advice=view.advice,
            summary=view.summary,
            affected=view.affected,
        )

    # -- the authority --------------------------------------------------------------------------

    def authority_notice(self, breach_id: str, phase: int | None = None) -> str:
        """The text of a phase: as submitted when it was, else the draft of the next one."""
        view = self.view(breach_id)
        if phase is not None and not 1 <= phase <= view.phases + 1:
            raise InvalidValue(f"phase: between 1 and {view.phases + 1}")
        if phase is not None and phase <= view.phases:
            with self.store.read() as connection:
                details = connection.scalar(
                    select(breach_events.c.details).where(
                        breach_events.c.breach_id == breach_id,
                        breach_events.c.kind == "authority_notice",
                        breach_events.c.phase == phase,
                    )
                )
            return str((details or {}).get("text", ""))
        return texts.authority_notice(
            self.manifest,
            self.facts(view),
            phase=view.phases + 1,
            earlier=self._phases(breach_id),
        )

    def _phases(self, breach_id: str) -> list[tuple[int, dt.datetime]]:
        with self.store.read() as connection:
            return [
                (int(e.phase), utc(dt.datetime.fromisoformat(e.details["submitted_at"])))
                for e in connection.execute(
                    select(breach_events.c.phase, breach_events.c.details)
                    .where(
                        breach_events.c.breach_id == breach_id,
                        breach_events.c.kind == "authority_notice",
                    )
                    .order_by(breach_events.c.phase)
                )
            ]

    def notify_authority(
        self,
        breach_id: str,
        actor: str,
        *,
        phase: int | None = None,
        submitted_at: dt.datetime | None = None,
        delay_reasons: str = "",
        reference: str | None = None,
        additional: str | None = None,
    ) -> AuthorityNotice:
        """Record a phase of the authority notice as submitted (Art. 33(1), (4)) with the text
        sent; refused when the phase is out of order, the time impossible, or a first notice
        after 72 hours gives no reasons for the delay."""
        now = self.clock()
        submitted = submitted_at or now
        if submitted.utcoffset() is None:
            raise InvalidValue("submitted_at: give the time zone (for example 'Z' for UTC)")
        for name, value in (
            ("delay_reasons", delay_reasons),
            ("reference", reference),
            ("additional", additional),
        ):
            if value is not None:
                printable(value, name)
        view = self.view(breach_id)
        number = view.phases + 1 if phase is None else phase
        refused = rules.authority_notice_refusal(
            aware_at=view.aware_at,
            submitted_at=submitted,
            now=now,
            phase=number,
            last_phase=view.phases,
            delay_reasons=delay_reasons,
        )
        if refused:
            code = "delay_reasons_required" if refused.startswith("delay_reasons") else None
            raise InvalidInput(refused, code=code or "invalid_value")
        late = number == 1 and rules.is_late(view.aware_at, submitted)
        reasons = delay_reasons.strip() if late else None
        text = texts.authority_notice(
            self.manifest,
            self.facts(view),
            phase=number,
            earlier=self._phases(breach_id),
            submitted_at=submitted,
            delay_reasons=reasons,
            additional=_stripped(additional),
        )
        with self.store.write() as connection:
            row = _row(connection, breach_id, for_update=True)
            last = connection.scalar(
                select(func.max(breach_events.c.phase)).where(
                    breach_events.c.breach_id == breach_id,
                    breach_events.c.kind == "authority_notice",
                )
            )
            if (last or 0) != view.phases:  # another phase was recorded meanwhile
                raise InvalidValue(f"phase: the next phase is {(last or 0) + 1}")
            values: dict[str, Any] = {}
            if number == 1:
                values = {
                    "authority_notified_at": submitted.astimezone(dt.UTC),
                    "authority_reasons": reasons,
                    "status": self._status(row, authority_notified=True).value,
                }
                connection.execute(
                    update(breaches).where(breaches.c.id == breach_id).values(**values)
                )
            connection.execute(
                insert(breach_events).values(
                    breach_id=breach_id,
                    at=now,
                    kind="authority_notice",
                    actor=actor,
                    note=(f"phase {number}" + (", late with reasons" if late else ""))
                    + (f"; authority reference {reference}" if reference else ""),
                    phase=number,
                    details={
                        "submitted_at": submitted.astimezone(dt.UTC).isoformat(),
                        "late": late,
                        "reference": reference,
                        "text": text,
                    },
                )
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="breach.authority_notified",
                target=breach_id,
                details={"phase": number, "late": late},
            )
        return AuthorityNotice(number, submitted.astimezone(dt.UTC), late, text)

    # -- the people -----------------------------------------------------------------------------

    def people_notice(self, breach_id: str, brand: str | None = None) -> tuple[str, str]:
        """The draft of the message to the people (subject, body), in ``brand``'s name."""
        view = self.view(breach_id)
        return texts.people_notice(self.manifest, self.facts(view), self._brand(brand))

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
            row = _row(connection, breach_id, for_update=True)
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
                "public_communication": _stripped(public_communication),
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
            _event(connection, breach_id, now, "people_exempted", actor, exemption.value)
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
            row = _row(connection, breach_id, for_update=True)
            details = dict(row.details)
            if row.people_notified_at is not None:
                raise InvalidInput("the people were already told", code="already_notified")
            if details.get("exemption"):
                raise InvalidInput(
                    "an exemption from telling the people was recorded (GDPR Art. 34(3))",
                    code="exempted",
                )
            if _stripped(advice):
                details["advice"] = _stripped(advice)
            if _stripped(summary):
                details["summary"] = _stripped(summary)
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
            _event(connection, breach_id, now, "people_notice_started", actor, None)
        view = self.view(breach_id)
        facts = self.facts(view)
        subjects = self.counter.subjects(view.categories)
        queued = 0
        rendered: dict[str, tuple[str, str]] = {}
        while subjects is not None:
            with self.store.write() as connection:
                row = _row(connection, breach_id, for_update=True)
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
                    if brand not in rendered:
                        rendered[brand] = texts.people_notice(self.manifest, facts, brand)
                    subject, body = rendered[brand]
                    self.outbox.enqueue(
                        connection,
                        Message(
                            to=email,
                            subject=subject,
                            body=body,
                            kind="breach_notice",
                            sender=self.manifest.policy.controller.email,
                        ),
                        now,
                    )
                    counts[brand] = counts.get(brand, 0) + 1
                    sent += 1
                progress.update(
                    cursor=batch[-1], messages=progress["messages"] + sent, brands=counts
                )
                details["people"] = progress
                connection.execute(
                    update(breaches).where(breaches.c.id == breach_id).values(details=details)
                )
                _event(
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
            row = _row(connection, breach_id, for_update=True)
            details = dict(row.details)
            progress = details["people"]
            total = int(progress["messages"])
            if row.people_notified_at is not None:  # a concurrent call finished it first
                return PeopleNotified(queued, total, dict(progress["brands"]))
            # What was sent, per brand (no recipient in it): the record of Art. 33(5).
            texts_sent = {
                brand: texts.people_notice(self.manifest, facts, brand)[1]
                for brand in progress["brands"]
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
            _event(connection, breach_id, now, "people_notified", actor, f"{total} messages queued")
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

    # -- reminders ------------------------------------------------------------------------------

    def remind(self) -> int:
        """Mail the privacy team (the DPO, else the controller's address) at 48, 24 and 6 hours
        left for each authority notice still awaited, once each; after downtime only the most
        urgent goes. Returns how many messages were queued."""
        now = self.clock()
        team = self.manifest.policy.dpo or self.manifest.policy.controller
        sent = 0
        with self.store.write() as connection:
            rows = connection.execute(
                select(
                    breaches.c.id,
                    breaches.c.title,
                    breaches.c.aware_at,
                    breaches.c.reminders_sent,
                ).where(
                    breaches.c.risk != Risk.NONE.value, breaches.c.authority_notified_at.is_(None)
                )
            ).all()
            for row in rows:
                due_at = rules.notice_due(utc(row.aware_at))
                already = frozenset(row.reminders_sent or ())
                due = rules.reminders_due(due_at, now, already)
                if not due:
                    continue
                hours = due[-1]
                left = rules.hours_left(utc(row.aware_at), now)
                self.outbox.enqueue(
                    connection,
                    Message(
                        to=team.email,
                        subject=f"Breach {row.id}: the authority notice is due in {left} hours",
                        body=(
                            f"The breach '{row.title}' ({row.id}) must be notified to the "
                            "supervisory authority within 72 hours of awareness (GDPR Art. "
                            f"33(1)): by {due_at.strftime('%Y-%m-%d %H:%M')} UTC, {left} hours "
                            "from now. A later notice must give the reasons for the delay.\n\n"
                            "The draft is on the breach's page of the staff console "
                            f"(/admin/breaches/{row.id}).\n"
                        ),
                        kind="breach_reminder",
                        sender=self.manifest.policy.controller.email,
                    ),
                    now,
                )
                connection.execute(
                    update(breaches)
                    .where(breaches.c.id == row.id)
                    .values(reminders_sent=sorted(already | set(due)))
                )
                _event(connection, row.id, now, "reminder", SYSTEM, f"{hours} hours left")
                sent += 1
            if sent:
                append_audit(
                    connection,
                    at=now,
                    actor="system",
                    action="breach.reminders_sent",
                    details={"messages": sent},
                )
        return sent

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _status(
        row: Any,
        *,
        authority_notified: bool | None = None,
        people_told: bool | None = None,
        people_exempt: bool | None = None,
        notifying: bool | None = None,
    ) -> BreachStatus:
        details = row.details or {}
        return rules.status(
            Risk(row.risk),
            authority_notified=(
                row.authority_notified_at is not None
                if authority_notified is None
                else authority_notified
            ),
            people_told=row.people_notified_at is not None if people_told is None else people_told,
            people_exempt=bool(details.get("exemption"))
            if people_exempt is None
            else people_exempt,
            notifying=(
                BreachStatus(row.status) is BreachStatus.NOTIFYING_PEOPLE
                if notifying is None
                else notifying
            ),
        )


def _row(connection: Connection, breach_id: str, *, for_update: bool = False) -> Any:
    row = row_by_id(connection, breaches, breach_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no breach '{breach_id}'", code="unknown_breach")
    return row


def _event(
    connection: Connection,
    breach_id: str,
    now: dt.datetime,
    kind: str,
    actor: str,
    note: str | None,
) -> None:
    connection.execute(
        insert(breach_events).values(breach_id=breach_id, at=now, kind=kind, actor=actor, note=note)
    )


def _in_utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.UTC) if moment is not None else None


def _stripped(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None
