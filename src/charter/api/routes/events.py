"""Page views from the brands' sites over HTTP (``charter.services.events``).

``POST /v1/events`` takes up to 1000 events of one brand, sent by the brand's servers with the
service token (``collect``): the events of a cookie category the cookie id has not consented to
are dropped and counted, the others stored in the event lake with their IP address truncated.
The body limit (``CHARTER_MAX_BODY_BYTES``) still applies: split larger batches.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, Field

from charter.api.auth import get_charter, require
from charter.api.schemas import Body, ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.events import MAX_BATCH

router = APIRouter(prefix="/v1", tags=["events"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (401, 403, 409, 413, 422)
}


class EventIn(Body):
    event_id: str | None = Field(default=None, min_length=1, max_length=64)
    occurred_at: AwareDatetime
    cookie_id: str = Field(min_length=1, max_length=200)
    account_id: str | None = Field(default=None, max_length=200)
    ip_address: str = Field(max_length=64, description="The visitor's address; truncated.")
    country: str | None = Field(
        default=None,
        max_length=8,
        description="The CDN's country header for the visitor (CF-IPCountry and the like).",
    )
    category: str = Field(max_length=64, description="The cookie category of the event.")
    device_type: str = Field(min_length=1, max_length=200)
    operating_system: str = Field(min_length=1, max_length=200)
    browser: str = Field(min_length=1, max_length=200)
    page_url: str = Field(min_length=1, max_length=2048)
    referrer: str | None = Field(default=None, max_length=2048)
    product_line: str | None = Field(default=None, max_length=200)


class EventsIn(Body):
    brand: str = Field(max_length=64)
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventsOut(Body):
    accepted: int
    dropped: dict[str, int] = Field(description="Events dropped, per reason.")


@router.post(
    "/events",
    status_code=202,
    response_model=EventsOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.COLLECT))],
    summary="Store page views that the cookie ids consented to; drop and count the others",
)
def ingest_events(body: EventsIn, charter: Charter = Depends(get_charter)) -> EventsOut:
    report = charter.events.ingest([event.model_dump() for event in body.events], body.brand)
    return EventsOut(accepted=report.accepted, dropped=report.dropped)
