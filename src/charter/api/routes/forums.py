"""Public content over HTTP: forums, blogs and chats (``charter.services.publication``).

- ``POST /v1/touchpoints/{touchpoint}/visibility`` (``record_consent``: the forum records the
  person's choice to show a ``choice`` field, Art. 25(2));
- ``POST /v1/touchpoints/{touchpoint}/public-profile`` (``decide``: what the forum may show of
  the person; withheld when a decision for the publication purpose refuses it);
- ``POST /v1/republications`` (``record_disclosure``: a copy of a person's post published
  elsewhere, told of the person's erasure, Art. 17(2)).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from charter.api.auth import get_charter, require
from charter.api.routes.requests import token_actor
from charter.api.schemas import Body, ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.tokens import Caller

router = APIRouter(prefix="/v1", tags=["forums"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 404, 422)}

_IDENTITIES = Field(description="The person, by the touchpoint's identities (email, account_id).")


class VisibilityIn(Body):
    brand: str = Field(max_length=64)
    identities: dict[str, Any] = _IDENTITIES
    fields: dict[str, Literal["public", "private"]] = Field(
        max_length=50,
        description="Field -> the person's choice; only fields declared with visibility "
        "'choice' take one.",
    )
    method: Literal["profile_settings", "signup_form", "api"] = Field(
        default="profile_settings", description="Where the person made the choice (evidence)."
    )


class VisibilityOut(BaseModel):
    subject_id: str
    fields: dict[str, str]
    chosen_at: dt.datetime


class ProfileIn(Body):
    brand: str = Field(max_length=64)
    identities: dict[str, Any] = _IDENTITIES


class ProfileOut(BaseModel):
    fields: dict[str, Any] = Field(
        description="The latest value of each public field and of each choice field the "
        "person made public; never a private field."
    )
    withheld: str | None = Field(
        default=None,
        description="Why nothing is shown (a decision's reason: restricted, objected ...).",
    )


class RepublisherIn(Body):
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320, description="Where the notice of an erasure goes.")


class RepublicationIn(Body):
    brand: str = Field(max_length=64)
    identities: dict[str, Any] = _IDENTITIES
    touchpoint: str = Field(max_length=64, description="Where the person published the post.")
    url: str = Field(max_length=2000, description="Where the copy is published.")
    republisher: RepublisherIn


class RepublicationOut(BaseModel):
    id: str


@router.post(
    "/touchpoints/{touchpoint}/visibility",
    status_code=201,
    response_model=VisibilityOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.RECORD_CONSENT))],
    summary="Record a person's choice to show or hide a profile field (privacy by default)",
)
def choose_visibility(
    touchpoint: str, body: VisibilityIn, charter: Charter = Depends(get_charter)
) -> VisibilityOut:
    receipt = charter.publication.choose(
        touchpoint,
        brand=body.brand,
        identities=body.identities,
        fields=body.fields,
        method=body.method,
    )
    return VisibilityOut(
        subject_id=receipt.subject_id, fields=receipt.fields, chosen_at=receipt.chosen_at
    )


@router.post(
    "/touchpoints/{touchpoint}/public-profile",
    response_model=ProfileOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.DECIDE))],
    summary="What the public may see of a person at a touchpoint",
)
def public_profile(
    touchpoint: str, body: ProfileIn, charter: Charter = Depends(get_charter)
) -> ProfileOut:
    profile = charter.publication.public_profile(
        touchpoint, brand=body.brand, identities=body.identities
    )
    return ProfileOut(fields=profile.fields, withheld=profile.withheld)


@router.post(
    "/republications",
    status_code=201,
    response_model=RepublicationOut,
    responses=_ERRORS,
    summary="Record a copy of a person's public post published elsewhere",
)
def record_republication(
    body: RepublicationIn,
    charter: Charter = Depends(get_charter),
    caller: Caller = Depends(require(Permission.RECORD_DISCLOSURE)),
) -> RepublicationOut:
    record = charter.publication.record_republication(
        brand=body.brand,
        identities=body.identities,
        touchpoint=body.touchpoint,
        url=body.url,
        republisher_name=body.republisher.name,
        republisher_email=body.republisher.email,
        actor=token_actor(caller),
    )
    return RepublicationOut(id=record)
