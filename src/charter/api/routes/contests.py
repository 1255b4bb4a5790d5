"""Contests over HTTP (``charter.services.contests``, ``charter.services.sponsor_transfers``).

``POST /v1/contests/{touchpoint}/winners`` announces winners as the contest's rules allow, and
``POST /v1/contests/{touchpoint}/sponsor-transfers`` passes the new entries to the contest's
sponsor: both ``run_contests`` (the privacy team), since both disclose personal data and a
transfer answers with the entries themselves. ``GET .../sponsor-transfers/{id}`` reads a
transfer again as JSON, ``GET .../sponsor-transfers/{id}.csv`` as a CSV file for the sponsor's
spreadsheets: ``run_contests`` too, as it answers with the same entries.
``GET /v1/contests/announcements/{id}`` is public (rate limited per client): what was published,
the names read from the winners' current data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field, model_validator

from charter.api.auth import get_charter, require
from charter.api.routes.requests import token_actor
from charter.api.schemas import UUID_PATTERN, Body, ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.contests import MAX_WINNERS, AnnouncementView, WinnerInput
from charter.services.sponsor_transfers import TransferView, transfer_csv
from charter.services.tokens import Caller
from charter.web.ratelimit import limited

router = APIRouter(prefix="/v1/contests", tags=["contests"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (401, 403, 404, 409, 422)
}
_RUN = Depends(require(Permission.RUN_CONTESTS))
Touchpoint = Path(max_length=64, description="A touchpoint with contest rules.")
TransferId = Path(pattern=UUID_PATTERN, description="The transfer's id, as its making answered.")


class WinnerIn(Body):
    identities: dict[str, Any] | None = Field(
        default=None, description="Whom, by the identities they entered with (email ...)."
    )
    subject_id: str | None = Field(default=None, pattern=UUID_PATTERN)

    @model_validator(mode="after")
    def _one_of(self) -> WinnerIn:
        if (self.identities is None) == (self.subject_id is None):
            raise ValueError("give identities or subject_id, not both")
        return self


class AnnouncementIn(Body):
    brand: str = Field(max_length=64)
    title: str = Field(min_length=1, max_length=200, description="The contest's title as shown.")
    winners: list[WinnerIn] = Field(min_length=1, max_length=MAX_WINNERS)


class WinnerOut(BaseModel):
    line: str = Field(description='As shown: "Ann L., Germany", or "Name withdrawn".')
    name: str | None
    country: str | None
    withdrawn: bool = Field(description="The winner was erased since: no name is shown.")


class AnnouncementOut(BaseModel):
    id: str
    touchpoint: str
    contest: str
    brand: str
    brand_name: str
    title: str
    rules_url: str
    names_published: bool = Field(description="False when the rules allow no names (none).")
    winner_count: int
    summary: str | None = Field(description="With no names: how many winners were drawn.")
    winners: list[WinnerOut]
    created_at: dt.datetime


class TransferIn(Body):
    brand: str = Field(max_length=64)


class PassedEntryOut(BaseModel):
    entry: str = Field(description="The entry's id.")
    subject_id: str
    received_at: dt.datetime
    identities: dict[str, list[str]]
    data: dict[str, Any] = Field(description="Only the fields the sponsor may receive.")
    disclosure_id: str | None


class WithheldOut(BaseModel):
    entry: str
    subject_id: str
    reason: str = Field(description="Why not passed now (restricted ...); passed on a later call.")


class TransferOut(BaseModel):
    id: str | None = Field(
        description="Reads the transfer again (GET .../sponsor-transfers/{id}); null when "
        "nothing was passed."
    )
    touchpoint: str
    brand: str
    recipient: str
    recipient_name: str
    purposes: list[str]
    passed_at: dt.datetime
    entries: list[PassedEntryOut] = Field(description="The entries not passed before.")
    withheld: list[WithheldOut]
    disclosures: int = Field(description="Disclosures recorded: one per person passed.")
    columns: list[str] = Field(
        description="The fields the sponsor receives, in the manifest's order (the CSV's header)."
    )


def announcement_out(view: AnnouncementView) -> AnnouncementOut:
    return AnnouncementOut(
        id=view.id,
        touchpoint=view.touchpoint,
        contest=view.contest,
        brand=view.brand,
        brand_name=view.brand_name,
        title=view.title,
        rules_url=view.rules_url,
        names_published=view.names_published,
        winner_count=view.winner_count,
        summary=view.summary,
        winners=[
            WinnerOut(line=w.line, name=w.name, country=w.country, withdrawn=w.withdrawn)
            for w in view.winners
        ],
        created_at=view.created_at,
    )


@router.post(
    "/{touchpoint}/winners",
    status_code=201,
    response_model=AnnouncementOut,
    responses=_ERRORS,
    summary="Announce a contest's winners, named only as its rules allow",
)
def announce(
    body: AnnouncementIn,
    touchpoint: str = Touchpoint,
    caller: Caller = _RUN,
    charter: Charter = Depends(get_charter),
) -> AnnouncementOut:
    view = charter.contests.announce(
        touchpoint,
        body.brand,
        body.title,
        [WinnerInput(w.identities, w.subject_id) for w in body.winners],
        token_actor(caller),
    )
    return announcement_out(view)


@router.get(
    "/announcements/{announcement_id}",
    response_model=AnnouncementOut,
    responses={s: {"model": ErrorOut} for s in (404, 422, 429)},
    dependencies=[Depends(limited("contest_announcements"))],
    summary="A published winner announcement (public, rate limited)",
)
def announcement(
    announcement_id: str = Path(pattern=UUID_PATTERN),
    charter: Charter = Depends(get_charter),
) -> AnnouncementOut:
    # Public: it shows only what was published, read by an unguessable id.
    return announcement_out(charter.contests.announcement(announcement_id))


@router.post(
    "/{touchpoint}/sponsor-transfers",
    status_code=201,
    response_model=TransferOut,
    responses=_ERRORS,
    summary="Pass the entries not passed before to the contest's sponsor, recording each",
)
def transfer(
    body: TransferIn,
    touchpoint: str = Touchpoint,
    caller: Caller = _RUN,
    charter: Charter = Depends(get_charter),
) -> TransferOut:
    view = charter.sponsor_transfers.transfer(touchpoint, body.brand, token_actor(caller))
    return transfer_out(view)


# Registered before the JSON form: its path would take "{id}.csv" and refuse it as no id.
@router.get(
    "/{touchpoint}/sponsor-transfers/{transfer_id}.csv",
    responses={**_ERRORS, 200: {"content": {"text/csv": {}}}},
    summary="A sponsor transfer again, as CSV for the sponsor's staff (audited; no new disclosure)",
)
def transfer_as_csv(
    touchpoint: str = Touchpoint,
    transfer_id: str = TransferId,
    caller: Caller = _RUN,
    charter: Charter = Depends(get_charter),
) -> Response:
    view = charter.sponsor_transfers.read(touchpoint, transfer_id, token_actor(caller), as_csv=True)
    name, content = transfer_csv(view)
    return Response(
        content,
        media_type="text/csv; charset=utf-8; header=present",
        headers={
            # The name is made of manifest keys and digits: nothing to escape.
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/{touchpoint}/sponsor-transfers/{transfer_id}",
    response_model=TransferOut,
    responses=_ERRORS,
    summary="A sponsor transfer again, its entries as they are now (audited; no new disclosure)",
)
def transfer_again(
    touchpoint: str = Touchpoint,
    transfer_id: str = TransferId,
    caller: Caller = _RUN,
    charter: Charter = Depends(get_charter),
) -> TransferOut:
    return transfer_out(
        charter.sponsor_transfers.read(touchpoint, transfer_id, token_actor(caller))
    )


def transfer_out(view: TransferView) -> TransferOut:
    return TransferOut(
        id=view.id,
        touchpoint=view.touchpoint,
        brand=view.brand,
        recipient=view.recipient,
        recipient_name=view.recipient_name,
        purposes=view.purposes,
        passed_at=view.passed_at,
        entries=[
            PassedEntryOut(
                entry=e.entry,
                subject_id=e.subject_id,
                received_at=e.received_at,
                identities=e.identities,
                data=e.data,
                disclosure_id=e.disclosure_id,
            )
            for e in view.entries
        ],
        withheld=[
            WithheldOut(entry=w.entry, subject_id=w.subject_id, reason=w.reason)
            for w in view.withheld
        ],
        disclosures=view.disclosures,
        columns=view.columns,
    )
