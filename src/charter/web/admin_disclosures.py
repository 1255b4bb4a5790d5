"""The console's registers of disclosures and transfers: ``/admin/disclosures`` (the ledger, with
filters), ``/admin/disclosures/new`` (the form that records an authority's request or a court
order received), ``/admin/disclosures/{id}`` (one disclosure, its history and documents, and the
form that moves an authority's request or a court order to its next step) and
``/admin/transfers`` (the transfers register).

Seeing them is ``read_registers`` (the privacy team, auditors); recording and acting on them,
and downloading a document, is ``manage_disclosures``. Pages and actions declare it as
``ConsolePage`` and ``ConsoleAction`` (``charter.web.admin``): the session, its CSRF token on
every POST, the right. Both forms are multipart (an optional file beside the text); what they
send is checked by the same service calls as the API's (``POST /v1/disclosures``, its steps),
and a refusal shows the form again with its reason, nothing stored. Shares and postings are
recorded by the brands' systems through the API, so the console records compelled kinds only.
Times typed in the forms are UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import HTMLResponse, Response

from charter.domain.disclosures import COMPELLED, DisclosureKind, DisclosureStatus
from charter.domain.errors import CharterError, InvalidValue, NotFound
from charter.domain.permissions import Permission, allowed
from charter.facade import Charter
from charter.manifest.models import RecipientKind
from charter.services.disclosure_inputs import (
    MAX_DOCUMENT_BYTES,
    DisclosureStep,
    DocumentInput,
    NewDisclosure,
)
from charter.services.staff import StaffSession
from charter.web.admin import HEADERS, ConsoleAction, ConsolePage, redirect, render
from charter.web.forms import category_choices, typed_moment
from charter.web.pages import attachment, charter_of, sentence

router = APIRouter(prefix="/admin", include_in_schema=False)
DisclosureId = Path(pattern=r"^[0-9a-f-]{36}$")
_SEE = ConsolePage(Permission.READ_REGISTERS)
_MANAGE_PAGE = ConsolePage(Permission.MANAGE_DISCLOSURES)
_ACT = ConsoleAction(Permission.MANAGE_DISCLOSURES)
_DONE = {"step": "Step recorded.", "recorded": "Recorded: the request starts as received."}
_IDENTITIES = ("email", "phone", "account_id")
"""The identities the new form asks for (``IdentityKind`` values of the manifest)."""


def _missing(staff: StaffSession, message: str | None = None) -> HTMLResponse:
    return render(
        "admin_message.html.j2", 404, title="No such disclosure", error=message, staff=staff
    )


@router.get("/disclosures", response_class=HTMLResponse)
def ledger(
    kind: str = Query(default="", max_length=32),
    status: str = Query(default="", max_length=32),
    recipient: str = Query(default="", max_length=64),
    staff: StaffSession = Depends(_SEE),
    charter: Charter = Depends(charter_of),
) -> Response:
    error = None
    try:
        rows = charter.disclosures.ledger(
            kind=kind or None, status=status or None, recipient=recipient or None, limit=500
        )
    except CharterError as refused:
        rows, error = [], sentence(refused.message)
    return render(
        "admin_disclosures.html.j2",
        422 if error else 200,
        title="Disclosures",
        staff=staff,
        error=error,
        rows=rows,
        kinds=[k.value for k in DisclosureKind],
        statuses=[s.value for s in DisclosureStatus],
        recipients=[(key, r.name) for key, r in charter.manifest.recipients.items()],
        chosen={"kind": kind, "status": status, "recipient": recipient},
        can_record=allowed(staff.user.role, Permission.MANAGE_DISCLOSURES),
    )


def _documents(document: UploadFile | None, name: str, reference: str) -> list[DocumentInput]:
    """A form's document: the file uploaded, and a document kept elsewhere (a name and where it
    is kept); the service checks both as it checks the API's."""
    documents = []
    if document is not None and document.filename:
        # Read one byte past the bound, so that the service refuses the document whole.
        content = document.file.read(MAX_DOCUMENT_BYTES + 1)
        documents.append(
            DocumentInput(name.strip() or document.filename, content, None, document.content_type)
        )
    if reference.strip():
        if not name.strip():
            raise InvalidValue("document name: name the document the reference points to")
        documents.append(DocumentInput(name, None, reference))
    return documents


# -- a request or an order received --------------------------------------------------------------


def _new_page(
    charter: Charter,
    staff: StaffSession,
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    manifest = charter.manifest
    authorities = [
        (key, r) for key, r in manifest.recipients.items() if r.kind is RecipientKind.AUTHORITY
    ]
    groups, categories = category_choices(
        manifest, [c for _, r in authorities for c in r.categories]
    )
    now = charter.clock().astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")
    return render(
        "admin_disclosure_new.html.j2",
        status,
        title="Record an authority's request or a court order",
        staff=staff,
        error=error,
        kinds=[k.value for k in DisclosureKind if k in COMPELLED],
        recipients=[(key, r.name) for key, r in authorities],
        brands=[(key, b.name) for key, b in manifest.brands.items()],
        groups=groups,
        categories=categories,
        max_document=MAX_DOCUMENT_BYTES,
        form={"kind": "", "categories": [], "occurred_at": now, **(form or {})},
    )


@router.get("/disclosures/new", response_class=HTMLResponse)
def new_form(
    staff: StaffSession = Depends(_MANAGE_PAGE), charter: Charter = Depends(charter_of)
) -> Response:
    return _new_page(charter, staff)


@router.post("/disclosures/new", response_class=HTMLResponse)
def record(
    kind: str = Form(default="", max_length=32),
    authority: str = Form(default="", max_length=200),
    note: str = Form(default="", max_length=4000),
    legal_reference: str = Form(default="", max_length=500),
    brand: str = Form(default="", max_length=64),
    email: str = Form(default="", max_length=320),
    phone: str = Form(default="", max_length=64),
    account_id: str = Form(default="", max_length=200),
    categories: list[str] = Form(default=[]),
    recipient: str = Form(default="", max_length=64),
    occurred_at: str = Form(default="", max_length=40),
    confidential: str = Form(default="", max_length=8),
    confidential_until: str = Form(default="", max_length=40),
    document: UploadFile | None = File(default=None),
    document_name: str = Form(default="", max_length=200),
    document_reference: str = Form(default="", max_length=500),
    staff: StaffSession = Depends(_ACT),
    charter: Charter = Depends(charter_of),
) -> Response:
    typed = {"email": email, "phone": phone, "account_id": account_id}
    form = {
        **typed,
        "kind": kind,
        "authority": authority,
        "note": note,
        "legal_reference": legal_reference,
        "brand": brand,
        "categories": categories,
        "recipient": recipient,
        "occurred_at": occurred_at,
        "confidential": confidential == "yes",
        "confidential_until": confidential_until,
        "document_name": document_name,
        "document_reference": document_reference,
    }
    try:
        if kind not in {k.value for k in COMPELLED}:
            raise InvalidValue("kind: an authority's request or a court order")
        if len(categories) > 100:
            raise InvalidValue("categories: at most 100")
        view = charter.disclosures.record(
            NewDisclosure(
                kind=kind,
                recipient=recipient,
                categories=categories,
                brand=brand or None,
                # Every kind asked, blanks as None: none given is the service's refusal
                # ("give at least one identity"), as it is the API's.
                identities={k: typed[k].strip() or None for k in _IDENTITIES},
                occurred_at=typed_moment(occurred_at, "occurred_at"),
                authority=authority,
                legal_reference=legal_reference or None,
                note=note,
                documents=_documents(document, document_name, document_reference),
                confidential=confidential == "yes",
                confidential_until=typed_moment(confidential_until, "confidential_until"),
            ),
            f"staff:{staff.user.id}",
        )
    except CharterError as refused:
        return _new_page(charter, staff, 422, sentence(refused.message), form)
    return redirect(f"/admin/disclosures/{view.id}?done=recorded")


# -- one disclosure ------------------------------------------------------------------------------


@router.get("/disclosures/{disclosure_id}", response_class=HTMLResponse)
def detail(
    disclosure_id: str = DisclosureId,
    done: str = "",
    staff: StaffSession = Depends(_SEE),
    charter: Charter = Depends(charter_of),
) -> Response:
    return _detail(charter, staff, disclosure_id, notice=_DONE.get(done))


def _detail(
    charter: Charter,
    staff: StaffSession,
    disclosure_id: str,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    try:
        view = charter.disclosures.view(disclosure_id)
    except NotFound:
        return _missing(staff)
    manage = allowed(staff.user.role, Permission.MANAGE_DISCLOSURES)
    return render(
        "admin_disclosure.html.j2",
        status,
        title=f"Disclosure {view.id}",
        staff=staff,
        view=view,
        error=error,
        notice=notice,
        can_act=manage,
        can_download=manage,
        compelled=view.kind in (DisclosureKind.AUTHORITY_REQUEST, DisclosureKind.COURT_ORDER),
        max_document=MAX_DOCUMENT_BYTES,
    )


@router.post("/disclosures/{disclosure_id}/steps", response_class=HTMLResponse)
def step(
    disclosure_id: str = DisclosureId,
    to: str = Form(default="", max_length=32),
    note: str = Form(default="", max_length=4000),
    reasons: str = Form(default="", max_length=4000),
    legal_reference: str = Form(default="", max_length=500),
    scope: list[str] = Form(default=[]),
    document: UploadFile | None = File(default=None),
    document_reference: str = Form(default="", max_length=500),
    document_name: str = Form(default="", max_length=200),
    confidential: str = Form(default="", max_length=8),
    staff: StaffSession = Depends(_ACT),
    charter: Charter = Depends(charter_of),
) -> Response:
    try:
        documents = _documents(document, document_name, document_reference)
        charter.disclosures.step(
            disclosure_id,
            DisclosureStep(
                note=note,
                to=to or None,
                reasons=reasons if reasons.strip() else None,
                legal_reference=legal_reference or None,
                categories=scope if to == DisclosureStatus.SCOPE_DECIDED and scope else None,
                documents=documents,
                confidential={"yes": True, "no": False}.get(confidential),
            ),
            f"staff:{staff.user.id}",
        )
    except NotFound as missing:
        return _missing(staff, sentence(missing.message))
    except CharterError as refused:
        return _detail(charter, staff, disclosure_id, 422, error=sentence(refused.message))
    return redirect(f"/admin/disclosures/{disclosure_id}?done=step")


@router.get("/disclosures/{disclosure_id}/documents/{document_id}")
def download(
    disclosure_id: str = DisclosureId,
    document_id: str = Path(pattern=r"^[0-9a-f-]{36}$"),
    staff: StaffSession = Depends(_MANAGE_PAGE),
    charter: Charter = Depends(charter_of),
) -> Response:
    try:
        found = charter.disclosures.document(disclosure_id, document_id, f"staff:{staff.user.id}")
    except NotFound as missing:
        return _missing(staff, sentence(missing.message))
    response = attachment(found.name, found.content)
    response.headers.update(HEADERS)
    return response


@router.get("/transfers", response_class=HTMLResponse)
def transfers(
    staff: StaffSession = Depends(_SEE), charter: Charter = Depends(charter_of)
) -> Response:
    return render(
        "admin_transfers.html.j2",
        title="Transfers",
        staff=staff,
        rows=charter.transfers.register(),
        home_region=charter.manifest.policy.home_region,
    )
