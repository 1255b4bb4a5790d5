"""A breach's records: its row and history, reading them (the view, the register, the facts
the notices say), and what the parts of the breach service share (``BreachBase``). Neither the
record nor its history holds personal data of the people concerned."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from charter.domain import breaches as rules
from charter.domain.breaches import BreachStatus, Risk
from charter.domain.clock import Clock
from charter.domain.errors import NotFound
from charter.manifest.models import Manifest
from charter.services import breach_notices as texts
from charter.services.breach_counts import AffectedCounter, ConnectorFor
from charter.services.outbox import Outbox
from charter.storage.engine import utc
from charter.storage.rows import row_by_id
from charter.storage.store import Store
from charter.storage.tables import breach_events, breaches

SYSTEM = "charter"
"""The actor of what Charter does by itself (reminders)."""


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


class BreachBase:
    """The breach service's wiring, its reading and its status rule (see ``BreachService``)."""

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

    # -- reading --------------------------------------------------------------------------------

    def view(self, breach_id: str) -> BreachView:
        with self.store.read() as connection:
            row = breach_row(connection, breach_id)
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


def breach_row(connection: Connection, breach_id: str, *, for_update: bool = False) -> Any:
    row = row_by_id(connection, breaches, breach_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no breach '{breach_id}'", code="unknown_breach")
    return row


def breach_event(
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


def in_utc(moment: dt.datetime | None) -> dt.datetime | None:
    return moment.astimezone(dt.UTC) if moment is not None else None


def stripped(text: str | None) -> str | None:
    return text.strip() or None if text is not None else None
