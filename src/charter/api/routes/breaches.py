"""The breach register over HTTP (GDPR Art. 33, 34): the privacy team records a breach, sees
the 72-hour clock, the people concerned and the drafts, and records the notices.

Reading needs ``read_registers`` (an auditor reads the register too); every change
``manage_breaches``. The rules are in ``charter.services.breaches``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from charter.api.auth import get_charter, require
from charter.api.routes.requests import token_actor
from charter.api.schemas import UUID_PATTERN, Body, ErrorOut
from charter.domain.breaches import Exemption, Risk
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.breach_notices import system_name
from charter.services.breach_records import BreachView
from charter.services.breaches import NewBreach
from charter.services.tokens import Caller

router = APIRouter(prefix="/v1", tags=["breaches"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 404, 422)}
BreachId = Path(pattern=UUID_PATTERN, description="The breach's id.")
_TEXT = 20_000
_READ = Depends(require(Permission.READ_REGISTERS))
_MANAGE = Depends(require(Permission.MANAGE_BREACHES))


class BreachIn(Body):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=_TEXT, description="What happened.")
    aware_at: dt.datetime = Field(
        description="When the company became aware of the breach (with its time zone): the "
        "72 hours of Art. 33(1) start here. Not in the future."
    )
    occurred_at: dt.datetime | None = Field(default=None, description="When it happened.")
    contained_at: dt.datetime | None = Field(default=None, description="When it was stopped.")
    systems: list[str] = Field(
        min_length=1,
        max_length=100,
        description="The manifest's `systems` keys involved; `charter`: Charter's own store.",
    )
    categories: list[str] = Field(
        min_length=1,
        max_length=200,
        description="Data categories involved: manifest keys, or groups such as `user.contact`.",
    )
    risk: Risk = Field(
        description="`none`: unlikely to result in a risk (recorded, not notified); `risk`: "
        "the authority is notified; `high_risk`: the people too."
    )
    risk_reasons: str = Field(max_length=_TEXT, description="Why the risk is assessed so.")
    consequences: str = Field(min_length=1, max_length=_TEXT, description="Likely consequences.")
    measures: str = Field(
        min_length=1, max_length=_TEXT, description="Measures taken or proposed, and mitigation."
    )
    advice: str | None = Field(
        default=None, max_length=_TEXT, description="What people can do (their notice)."
    )
    summary: str | None = Field(
        default=None,
        max_length=_TEXT,
        description="What happened in plain words, for the people (else the description).",
    )


class EventOut(BaseModel):
    at: dt.datetime
    kind: str
    actor: str
    note: str | None
    phase: int | None


class BreachSummaryOut(BaseModel):
    id: str
    title: str
    status: str
    open: bool
    risk: str
    aware_at: dt.datetime
    due_at: dt.datetime = Field(description="72 hours after awareness (Art. 33(1)).")
    hours_left: int | None = Field(
        description="Whole hours left for the authority notice while it is awaited; negative "
        "once late; null when none is awaited."
    )
    affected_count: int | None
    authority_notified_at: dt.datetime | None
    people_notified_at: dt.datetime | None


class BreachOut(BreachSummaryOut):
    description: str
    risk_reasons: str
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
    authority_required: bool
    people_required: bool
    delay_reasons: str | None
    phases: int = Field(description="Authority notice phases submitted (Art. 33(4)).")
    people_told: int = Field(description="Messages queued to the people concerned.")
    exemption: dict[str, Any] | None = Field(description="An Art. 34(3) exemption, if recorded.")
    reminders_sent: list[int] = Field(description="Reminders sent, in hours left.")
    history: list[EventOut]


class SystemCountOut(BaseModel):
    system: str
    name: str
    status: str = Field(description="`counted`, or `unknown: ...` saying why not.")
    people: int | None
    records: int | None
    tables: dict[str, int]


class AffectedOut(BaseModel):
    counted_at: dt.datetime
    people: int = Field(description="Added over the systems counted (the breach's count).")
    records: int
    complete: bool = Field(description="Whether every system involved was counted.")
    systems: list[SystemCountOut]


class AuthorityNoticeIn(Body):
    phase: int | None = Field(
        default=None, ge=1, le=100, description="The phase (Art. 33(4)); the next by default."
    )
    submitted_at: dt.datetime | None = Field(
        default=None, description="When it was submitted to the authority; now by default."
    )
    delay_reasons: str = Field(
        default="",
        max_length=_TEXT,
        description="Required for a first notice more than 72 hours after awareness.",
    )
    reference: str | None = Field(
        default=None, max_length=200, description="The authority's case number."
    )
    additional: str | None = Field(
        default=None, max_length=_TEXT, description="What this phase adds to the earlier ones."
    )


class AuthorityNoticeOut(BaseModel):
    phase: int
    submitted_at: dt.datetime
    late: bool
    text: str


class NotifyPeopleIn(Body):
    advice: str | None = Field(
        default=None,
        max_length=_TEXT,
        description="What people can do; required unless recorded with the breach.",
    )
    summary: str | None = Field(default=None, max_length=_TEXT)


class PeopleNotifiedOut(BaseModel):
    messages: int = Field(description="Messages queued by this call.")
    total: int = Field(description="Messages queued to the people concerned in all.")
    brands: dict[str, int] = Field(description="Messages per brand.")


class ExemptionIn(Body):
    ground: Exemption = Field(
        description="Art. 34(3): `encrypted` (a), `measures_taken` (b), "
        "`disproportionate_effort` (c, with a public communication)."
    )
    reasons: str = Field(max_length=_TEXT)
    public_communication: str = Field(
        default="",
        max_length=_TEXT,
        description="How the public is told instead (required with disproportionate_effort).",
    )


def _summary(view: BreachView) -> dict[str, Any]:
    return {
        "id": view.id,
        "title": view.title,
        "status": view.status,
        "open": view.open,
        "risk": view.risk,
        "aware_at": view.aware_at,
        "due_at": view.due_at,
        "hours_left": view.hours_left,
        "affected_count": view.affected_count,
        "authority_notified_at": view.authority_notified_at,
        "people_notified_at": view.people_notified_at,
    }


def breach_out(view: BreachView) -> BreachOut:
    return BreachOut(
        **_summary(view),
        description=view.description,
        risk_reasons=view.risk_reasons,
        occurred_at=view.occurred_at,
        contained_at=view.contained_at,
        recorded_at=view.recorded_at,
        recorded_by=view.recorded_by,
        systems=view.systems,
        categories=view.categories,
        consequences=view.consequences,
        measures=view.measures,
        advice=view.advice,
        summary=view.summary,
        authority_required=view.authority_required,
        people_required=view.people_required,
        delay_reasons=view.delay_reasons,
        phases=view.phases,
        people_told=view.people_told,
        exemption=view.exemption,
        reminders_sent=view.reminders_sent,
        history=[
            EventOut(at=e.at, kind=e.kind, actor=e.actor, note=e.note, phase=e.phase)
            for e in view.events
        ],
    )


@router.post(
    "/breaches",
    status_code=201,
    response_model=BreachOut,
    responses=_ERRORS,
    summary="Record a personal data breach (Art. 33(5)); the people concerned are counted",
)
def record(
    body: BreachIn,
    caller: Caller = _MANAGE,
    charter: Charter = Depends(get_charter),
) -> BreachOut:
    # A plain def: counting may reach outside databases, so it runs in the thread pool.
    view = charter.breaches.record(
        NewBreach(
            title=body.title,
            description=body.description,
            aware_at=body.aware_at,
            occurred_at=body.occurred_at,
            contained_at=body.contained_at,
            systems=body.systems,
            categories=body.categories,
            risk=body.risk.value,
            risk_reasons=body.risk_reasons,
            consequences=body.consequences,
            measures=body.measures,
            advice=body.advice,
            summary=body.summary,
        ),
        token_actor(caller),
    )
    return breach_out(view)


@router.get(
    "/breaches",
    response_model=list[BreachSummaryOut],
    responses=_ERRORS,
    dependencies=[_READ],
    summary="The breach register: open breaches first, by hours left for the authority notice",
)
def register(
    open_only: bool = Query(default=False, description="Only the breaches needing action."),
    charter: Charter = Depends(get_charter),
) -> list[BreachSummaryOut]:
    return [
        BreachSummaryOut(**_summary(view))
        for view in charter.breaches.register(open_only=open_only)
    ]


@router.get(
    "/breaches/{breach_id}",
    response_model=BreachOut,
    responses=_ERRORS,
    dependencies=[_READ],
    summary="One breach, with its history",
)
def breach(breach_id: str = BreachId, charter: Charter = Depends(get_charter)) -> BreachOut:
    return breach_out(charter.breaches.view(breach_id))


def _affected_out(charter: Charter, affected: dict[str, Any]) -> AffectedOut:
    return AffectedOut(
        counted_at=affected["counted_at"],
        people=affected["people"],
        records=affected["records"],
        complete=affected["complete"],
        systems=[
            SystemCountOut(**count, name=system_name(charter.manifest, count["system"]))
            for count in affected["systems"]
        ],
    )


@router.get(
    "/breaches/{breach_id}/affected",
    response_model=AffectedOut,
    responses=_ERRORS,
    dependencies=[_READ],
    summary="The people and records concerned, per system, as last counted",
)
def affected(breach_id: str = BreachId, charter: Charter = Depends(get_charter)) -> AffectedOut:
    return _affected_out(charter, charter.breaches.view(breach_id).affected)


@router.post(
    "/breaches/{breach_id}/affected",
    response_model=AffectedOut,
    responses=_ERRORS,
    summary="Count the people concerned again (a system connected since, say)",
)
def recount(
    breach_id: str = BreachId,
    caller: Caller = _MANAGE,
    charter: Charter = Depends(get_charter),
) -> AffectedOut:
    view = charter.breaches.recount(breach_id, token_actor(caller))
    return _affected_out(charter, view.affected)


@router.get(
    "/breaches/{breach_id}/authority-notice",
    response_class=PlainTextResponse,
    responses={**_ERRORS, 200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    dependencies=[_READ],
    summary="The notice to the supervisory authority (Art. 33(3)): a phase as submitted, or "
    "the draft of the next",
)
def authority_notice(
    breach_id: str = BreachId,
    phase: int | None = Query(default=None, ge=1, le=100),
    charter: Charter = Depends(get_charter),
) -> PlainTextResponse:
    return PlainTextResponse(charter.breaches.authority_notice(breach_id, phase))


@router.post(
    "/breaches/{breach_id}/authority-notice",
    status_code=201,
    response_model=AuthorityNoticeOut,
    responses=_ERRORS,
    summary="Record a phase of the authority notice as submitted (reasons required when late)",
)
def notify_authority(
    body: AuthorityNoticeIn,
    breach_id: str = BreachId,
    caller: Caller = _MANAGE,
    charter: Charter = Depends(get_charter),
) -> AuthorityNoticeOut:
    notice = charter.breaches.notify_authority(
        breach_id,
        token_actor(caller),
        phase=body.phase,
        submitted_at=body.submitted_at,
        delay_reasons=body.delay_reasons,
        reference=body.reference,
        additional=body.additional,
    )
    return AuthorityNoticeOut(
        phase=notice.phase, submitted_at=notice.submitted_at, late=notice.late, text=notice.text
    )


@router.get(
    "/breaches/{breach_id}/people-notice",
    response_class=PlainTextResponse,
    responses={**_ERRORS, 200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    dependencies=[_READ],
    summary="The draft of the message to the people concerned (Art. 34(2)), for a brand",
)
def people_notice(
    breach_id: str = BreachId,
    brand: str | None = Query(default=None, max_length=64),
    language: str | None = Query(
        default=None,
        max_length=16,
        description="The draft in this language if Charter offers it, else in the brand's",
    ),
    charter: Charter = Depends(get_charter),
) -> PlainTextResponse:
    subject, body = charter.breaches.people_notice(breach_id, brand, language)
    return PlainTextResponse(f"Subject: {subject}\n\n{body}")


@router.post(
    "/breaches/{breach_id}/notify-people",
    response_model=PeopleNotifiedOut,
    responses=_ERRORS,
    summary="Tell every person concerned with an e-mail address (Art. 34); not marketing",
)
def notify_people(
    body: NotifyPeopleIn,
    breach_id: str = BreachId,
    caller: Caller = _MANAGE,
    charter: Charter = Depends(get_charter),
) -> PeopleNotifiedOut:
    done = charter.breaches.notify_people(
        breach_id, token_actor(caller), advice=body.advice, summary=body.summary
    )
    return PeopleNotifiedOut(messages=done.messages, total=done.total, brands=done.brands)


@router.post(
    "/breaches/{breach_id}/people-exemption",
    response_model=BreachOut,
    responses=_ERRORS,
    summary="Record why the people are not told one by one (Art. 34(3))",
)
def exempt_people(
    body: ExemptionIn,
    breach_id: str = BreachId,
    caller: Caller = _MANAGE,
    charter: Charter = Depends(get_charter),
) -> BreachOut:
    view = charter.breaches.exempt_people(
        breach_id,
        token_actor(caller),
        ground=body.ground.value,
        reasons=body.reasons,
        public_communication=body.public_communication,
    )
    return breach_out(view)
