"""The disclosures ledger over HTTP (``charter.services.disclosures``).

``POST /v1/disclosures`` records a disclosure: a brand's system records its processor and
affiliate shares and public postings (``record_disclosure``); an authority's request or a
court order is the privacy team's (``manage_disclosures``), and so are its steps
(``POST /v1/disclosures/{id}/steps``) and the download of its documents. Reading the ledger is
``read_registers``. Documents travel as base64 in the JSON body (bounded by the body limit).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AwareDatetime, Field

from charter.api.auth import get_charter, require
from charter.api.routes.requests import token_actor
from charter.api.schemas import UUID_PATTERN, Body, ErrorOut
from charter.domain.disclosures import COMPELLED, DisclosureKind, DisclosureStatus
from charter.domain.errors import Forbidden, InvalidValue
from charter.domain.permissions import Permission, allowed
from charter.facade import Charter
from charter.services.disclosure_inputs import DisclosureStep, DocumentInput, NewDisclosure
from charter.services.disclosure_views import DisclosureView, DocumentView, EventView
from charter.services.tokens import Caller
from charter.web.pages import attachment

router = APIRouter(prefix="/v1", tags=["disclosures"])
_ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorOut} for s in (401, 403, 404, 422)}
DisclosureId = Path(pattern=UUID_PATTERN, description="The disclosure's id.")


class DocumentIn(Body):
    name: str = Field(min_length=1, max_length=200, description="A file name or a title.")
    content_base64: str | None = Field(
        default=None, description="The document itself, base64; or give a reference instead."
    )
    reference: str | None = Field(
        default=None, max_length=500, description="Where the document is kept (a file number)."
    )
    content_type: str | None = Field(default=None, max_length=100)


class DisclosureIn(Body):
    kind: DisclosureKind
    recipient: str = Field(max_length=64, description="A recipient key of the manifest.")
    authority: str | None = Field(
        default=None,
        max_length=200,
        description="For an authority request or a court order: the authority or court.",
    )
    brand: str | None = Field(default=None, max_length=64)
    identities: dict[str, Any] | None = Field(
        default=None,
        description="Whom the disclosure is about (email, account_id ...); none for an "
        "aggregate or a disclosure about no one in particular.",
    )
    categories: list[str] = Field(min_length=1, max_length=100)
    purposes: list[str] = Field(default_factory=list, max_length=50)
    occurred_at: AwareDatetime | None = Field(
        default=None,
        description="When the share was made, or the request received; now if omitted.",
    )
    legal_reference: str | None = Field(
        default=None, max_length=500, description="An order's number, a statute."
    )
    note: str | None = Field(default=None, max_length=4000)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=10)
    confidential: bool = Field(
        default=False,
        description="An authority's request the person may not be told of (a gag order): "
        "left out of their access report while it holds (GDPR Art. 23).",
    )
    confidential_until: AwareDatetime | None = None


class StepIn(Body):
    to: DisclosureStatus | None = Field(
        default=None, description="The next status; none to add a note or documents only."
    )
    note: str = Field(min_length=1, max_length=4000)
    reasons: str | None = Field(
        default=None, max_length=4000, description="Why the request is refused (with refused)."
    )
    legal_reference: str | None = Field(default=None, max_length=500)
    categories: list[str] | None = Field(
        default=None,
        max_length=100,
        description="With scope_decided: the categories to disclose (at most those asked).",
    )
    documents: list[DocumentIn] = Field(default_factory=list, max_length=10)
    occurred_at: AwareDatetime | None = None
    confidential: bool | None = None
    confidential_until: AwareDatetime | None = None


class DocumentOut(Body):
    id: str
    name: str
    size: int = Field(description="Bytes uploaded; 0 for a reference.")
    content_type: str | None
    reference: str | None
    sha256: str | None
    added_at: dt.datetime


class EventOut(Body):
    at: dt.datetime
    kind: str
    status: str
    actor: str
    note: str | None
    reasons: str | None
    documents: list[DocumentOut]


class DisclosureOut(Body):
    id: str
    kind: str
    recipient: str
    recipient_name: str
    brand: str | None
    about_a_person: bool
    subject_id: str | None
    categories: list[str]
    scope: list[str] | None
    purposes: list[str]
    status: str
    legal_reference: str | None
    confidential: bool
    confidential_until: dt.datetime | None
    received_at: dt.datetime
    decided_at: dt.datetime | None
    disclosed_at: dt.datetime | None
    recorded_at: dt.datetime
    created_by: str
    next: list[str] = Field(description="The statuses the next step may move it to.")
    history: list[EventOut] = Field(default_factory=list)


class LedgerOut(Body):
    disclosures: list[DisclosureOut]


def _document_out(d: DocumentView) -> DocumentOut:
    return DocumentOut(
        id=d.id,
        name=d.name,
        size=d.size,
        content_type=d.content_type,
        reference=d.reference,
        sha256=d.sha256,
        added_at=d.added_at,
    )


def _event_out(e: EventView) -> EventOut:
    return EventOut(
        at=e.at,
        kind=e.kind,
        status=e.status,
        actor=e.actor,
        note=e.note,
        reasons=e.reasons,
        documents=[_document_out(d) for d in e.documents],
    )


def disclosure_out(view: DisclosureView) -> DisclosureOut:
    names = [n for n in DisclosureOut.model_fields if n != "history"]
    return DisclosureOut(
        **{n: getattr(view, n) for n in names},
        history=[_event_out(e) for e in view.history],
    )


def _documents(documents: list[DocumentIn]) -> list[DocumentInput]:
    found = []
    for i, d in enumerate(documents):
        content = None
        if d.content_base64 is not None:
            try:
                content = base64.b64decode(re.sub(r"\s+", "", d.content_base64), validate=True)
            except (binascii.Error, ValueError):
                raise InvalidValue(f"documents[{i}].content_base64: is not base64") from None
        found.append(DocumentInput(d.name, content, d.reference, d.content_type))
    return found


@router.post(
    "/disclosures",
    status_code=201,
    response_model=DisclosureOut,
    responses=_ERRORS,
    summary="Record a disclosure; one the manifest does not declare is refused",
)
def record(
    body: DisclosureIn,
    caller: Caller = Depends(require(Permission.RECORD_DISCLOSURE)),
    charter: Charter = Depends(get_charter),
) -> DisclosureOut:
    if body.kind in COMPELLED and not allowed(caller.role, Permission.MANAGE_DISCLOSURES):
        raise Forbidden(
            f"the role {caller.role.value} may not record an authority's request or a court "
            "order (manage_disclosures)"
        )
    view = charter.disclosures.record(
        NewDisclosure(
            kind=body.kind.value,
            recipient=body.recipient,
            categories=body.categories,
            purposes=body.purposes,
            brand=body.brand,
            identities=body.identities,
            occurred_at=body.occurred_at,
            authority=body.authority,
            legal_reference=body.legal_reference,
            note=body.note,
            documents=_documents(body.documents),
            confidential=body.confidential,
            confidential_until=body.confidential_until,
        ),
        token_actor(caller),
    )
    return disclosure_out(view)


@router.get(
    "/disclosures",
    response_model=LedgerOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.READ_REGISTERS))],
    summary="The disclosures ledger, newest first, filtered by kind, status or recipient",
)
def ledger(
    kind: DisclosureKind | None = None,
    status: DisclosureStatus | None = None,
    recipient: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    charter: Charter = Depends(get_charter),
) -> LedgerOut:
    views = charter.disclosures.ledger(
        kind=kind.value if kind else None,
        status=status.value if status else None,
        recipient=recipient,
        limit=limit,
        offset=offset,
    )
    return LedgerOut(disclosures=[disclosure_out(v) for v in views])


@router.get(
    "/disclosures/{disclosure_id}",
    response_model=DisclosureOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.READ_REGISTERS))],
    summary="One disclosure with its history and the names and sizes of its documents",
)
def one(
    disclosure_id: str = DisclosureId, charter: Charter = Depends(get_charter)
) -> DisclosureOut:
    return disclosure_out(charter.disclosures.view(disclosure_id))


@router.post(
    "/disclosures/{disclosure_id}/steps",
    response_model=DisclosureOut,
    responses=_ERRORS,
    summary="Move an authority request or court order on, or add a note or documents",
)
def step(
    body: StepIn,
    disclosure_id: str = DisclosureId,
    caller: Caller = Depends(require(Permission.MANAGE_DISCLOSURES)),
    charter: Charter = Depends(get_charter),
) -> DisclosureOut:
    view = charter.disclosures.step(
        disclosure_id,
        DisclosureStep(
            note=body.note,
            to=body.to.value if body.to else None,
            reasons=body.reasons,
            legal_reference=body.legal_reference,
            categories=body.categories,
            documents=_documents(body.documents),
            occurred_at=body.occurred_at,
            confidential=body.confidential,
            confidential_until=body.confidential_until,
        ),
        token_actor(caller),
    )
    return disclosure_out(view)


@router.get(
    "/disclosures/{disclosure_id}/documents/{document_id}",
    responses={**_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    summary="Download a document of a disclosure (the privacy team; the reading is audited)",
)
def document(
    disclosure_id: str = DisclosureId,
    document_id: str = Path(pattern=UUID_PATTERN),
    caller: Caller = Depends(require(Permission.MANAGE_DISCLOSURES)),
    charter: Charter = Depends(get_charter),
) -> Response:
    found = charter.disclosures.document(disclosure_id, document_id, token_actor(caller))
    return attachment(found.name, found.content)
