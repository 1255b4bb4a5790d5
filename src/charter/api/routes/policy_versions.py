"""The register of published policy versions (staff): ``GET`` and ``POST /v1/policy/versions``.

Listing is the registers' read permission (the public page ``/policy/versions`` shows the same
versions without the notices' counts); publishing is the privacy team's, and publishes the
manifest this server enforces (``charter.services.policy_versions``; 409 ``manifest_changed``
when its file was edited since the server loaded it, 409 ``version_exists`` when the version
string is published with another text, 422 ``notice_too_short`` for a material change taking
effect sooner than ``policy.notice_days``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from charter.api.auth import get_charter, require
from charter.api.schemas import ErrorOut
from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.policy_versions import Publication, VersionView
from charter.services.tokens import Caller

router = APIRouter(prefix="/v1/policy", tags=["policy"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403)}


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective: dt.date | None = Field(
        default=None,
        description="The date the version takes effect (default: the manifest's "
        "policy.effective_date).",
    )


class ChangeOut(BaseModel):
    kind: str
    text: str
    material: bool
    consent_purpose: str | None = None


class VersionOut(BaseModel):
    version: str
    effective_on: dt.date
    published_at: dt.datetime | None = None
    published_by: str | None = None
    manifest_sha256: str | None = None
    previous: str | None
    status: str | None = Field(default=None, description="in force, upcoming or superseded")
    material: bool
    changes: list[ChangeOut]
    notices: dict[str, int] = Field(
        description="people: told of a material change; consent_asks: consent links sent; "
        "unreachable: concerned but with no e-mail address"
    )


class VersionsOut(BaseModel):
    versions: list[VersionOut]


class PublishedOut(VersionOut):
    created: bool = Field(description="false when this text was already published: a no-op")


def _changes(view: VersionView | Publication) -> list[ChangeOut]:
    return [ChangeOut(**c.to_json()) for c in view.changes]


def _counts(notices: dict[str, Any]) -> dict[str, int]:
    return {k: int(notices.get(k) or 0) for k in ("people", "consent_asks", "unreachable")}


@router.get(
    "/versions",
    response_model=VersionsOut,
    responses=_ERRORS,
    summary="Published policy versions, the latest first, with their changes and notices",
)
def versions(
    _caller: Caller = Depends(require(Permission.READ_REGISTERS)),
    charter: Charter = Depends(get_charter),
) -> VersionsOut:
    return VersionsOut(
        versions=[
            VersionOut(
                version=v.version,
                effective_on=v.effective_on,
                published_at=v.published_at,
                published_by=v.published_by,
                manifest_sha256=v.sha256,
                previous=v.previous,
                status=v.status,
                material=v.material,
                changes=_changes(v),
                notices=_counts(v.notices),
            )
            for v in charter.policy_versions.versions()
        ]
    )


@router.post(
    "/versions",
    response_model=PublishedOut,
    status_code=201,
    responses={**_ERRORS, 200: {"model": PublishedOut}, 409: {"model": ErrorOut}},
    summary="Publish the manifest this server enforces as a new policy version (privacy team)",
)
def publish(
    body: PublishIn | None = Body(default=None),
    caller: Caller = Depends(require(Permission.PUBLISH_POLICY)),
    charter: Charter = Depends(get_charter),
) -> JSONResponse:
    done = charter.policy_versions.publish_running(
        effective=body.effective if body else None, actor=f"token:{caller.token_id}"
    )
    out = PublishedOut(
        version=done.version,
        effective_on=done.effective_on,
        previous=done.previous,
        material=any(c.material for c in done.changes),
        changes=_changes(done),
        notices=_counts(done.notices),
        created=done.created,
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if done.created else 200)
