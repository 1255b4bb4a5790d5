"""The console's registers of disclosures and transfers: ``/admin/disclosures`` (the ledger, with
filters), ``/admin/disclosures/{id}`` (one disclosure, its history and documents, and the form
that moves an authority's request or a court order to its next step) and ``/admin/transfers``
(the transfers register).

Seeing them is ``read_registers`` (the privacy team, auditors); acting on them, and downloading
a document, is ``manage_disclosures``. Pages and actions declare it as ``ConsolePage`` and
``ConsoleAction`` (``charter.web.admin``): the session, its CSRF token on every POST, the right.
The step form is a multipart form (an optional file beside the note); what it sends is checked
by the same service calls as the API's, and a refusal shows on the page with its reason.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile
from fastapi.responses import HTMLResponse, Response

from charter.domain.disclosures import DisclosureKind, DisclosureStatus
from charter.domain.errors import CharterError, InvalidValue, NotFound
from charter.domain.permissions import Permission, allowed
from charter.facade import Charter
from charter.services.disclosures import MAX_DOCUMENT_BYTES, DisclosureStep, DocumentInput
from charter.services.staff import StaffSession
from charter.web.admin import HEADERS, ConsoleAction, ConsolePage, redirect, render
from charter.web.pages import attachment, charter_of, sentence

router = APIRouter(prefix="/admin", include_in_schema=False)
DisclosureId = Path(pattern=r"^[0-9a-f-]{36}$")
_SEE = ConsolePage(Permission.READ_REGISTERS)
_DOWNLOAD = ConsolePage(Permission.MANAGE_DISCLOSURES)
_ACT = ConsoleAction(Permission.MANAGE_DISCLOSURES)
_DONE = {"step": "Step recorded."}


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
    )


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
    documents = []
    try:
        if document is not None and document.filename:
            # Read one byte past the bound, so that the service refuses the document whole.
            content = document.file.read(MAX_DOCUMENT_BYTES + 1)
            documents.append(
                DocumentInput(
                    document_name.strip() or document.filename,
                    content,
                    None,
                    document.content_type,
                )
            )
        if document_reference.strip():
            if not document_name.strip():
                raise InvalidValue("document name: name the document the reference points to")
            documents.append(DocumentInput(document_name, None, document_reference))
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
    staff: StaffSession = Depends(_DOWNLOAD),
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
