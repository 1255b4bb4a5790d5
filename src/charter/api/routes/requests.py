"""Rights requests over HTTP: public intake and verification, the person's status, staff actions.

Public calls (no token) are rate limited per client address, and intake and verification also
per identity: the e-mail a request names, the request being verified. ``GET /v1/requests/{id}``
takes either the person's access token (from verification) or a staff bearer token (``chr_...``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from charter.api.auth import get_charter, require, staff_or_person
from charter.api.routes import gpc
from charter.api.schemas import Body, ErrorOut
from charter.domain.permissions import Permission
from charter.domain.requests import ReceivedVia, RequestType
from charter.facade import Charter
from charter.services.request_reading import RequestView
from charter.services.requests import NewRequest
from charter.services.tokens import Caller
from charter.web.pages import package_download
from charter.web.ratelimit import hit_identity, limited

router = APIRouter(prefix="/v1", tags=["rights requests"])
_bearer = HTTPBearer(auto_error=False, description="The request's access token, or a staff token.")
_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorOut} for s in (401, 403, 404, 422, 429)
}
RequestId = Path(pattern=r"^[0-9a-f-]{36}$", description="The request's id.")


class RequestIn(Body):
    type: RequestType
    brand: str = Field(max_length=64)
    identities: dict[str, Any] = Field(description="email (required), phone, account_id ...")
    details: dict[str, Any] = Field(
        default_factory=dict,
        description="What to correct, which purpose to object to, a free-text message ...",
    )
    jurisdiction: str | None = Field(
        default=None, max_length=16, description="Where the person lives: 'DE', 'US-CA' ..."
    )
    language: str | None = Field(default=None, max_length=16)


class StaffRequestIn(RequestIn):
    received_via: ReceivedVia = ReceivedVia.EMAIL


class ReceivedOut(Body):
    id: str
    status: str
    due_at: dt.datetime


class VerifyIn(Body):
    code: str = Field(min_length=1, max_length=32)


class VerifiedOut(Body):
    status: str
    access_token: str = Field(description="Keep it: it opens the status and the download.")


class HistoryOut(Body):
    at: dt.datetime
    kind: str
    status: str
    actor: str
    note: str | None


class StepOut(Body):
    seq: int
    system: str
    target: str | None
    action: str
    status: str = Field(description="pending, done, or awaiting_staff (confirm it by hand).")
    attempts: int
    error: str | None


class RequestOut(Body):
    id: str
    type: str
    brand: str
    status: str
    received_via: str
    jurisdiction: str | None
    deadline_rule: str
    received_at: dt.datetime
    due_at: dt.datetime
    legal_due_at: dt.datetime
    confirm_by: dt.datetime | None
    extended: bool
    closed_at: dt.datetime | None
    outcome: dict[str, Any] | None
    history: list[HistoryOut]
    steps: list[StepOut]
    overdue: bool = Field(description="Still open after its deadline.")


class QueueOut(Body):
    requests: list[RequestOut]


class ReasonsIn(Body):
    reasons: str = Field(min_length=1, max_length=4000)


class MovedOut(Body):
    id: str
    status: str
    due_at: dt.datetime


def request_out(view: RequestView) -> RequestOut:
    return RequestOut(
        **{
            name: getattr(view, name)
            for name in RequestOut.model_fields
            if name not in ("history", "steps")
        },
        history=[HistoryOut(**vars(entry)) for entry in view.history],
        steps=[StepOut(**vars(step)) for step in view.steps],
    )


def _new(body: RequestIn, via: str) -> NewRequest:
    return NewRequest(
        type=body.type,
        brand=body.brand,
        identities=body.identities,
        details=body.details,
        jurisdiction=body.jurisdiction,
        received_via=via,
        language=body.language,
    )


@router.post(
    "/requests",
    status_code=202,
    response_model=ReceivedOut,
    responses=_ERRORS,
    dependencies=[Depends(limited("request_intake"))],
    summary="File a rights request; a code to verify it goes to the e-mail on file",
)
def file_request(
    body: RequestIn, request: Request, charter: Charter = Depends(get_charter)
) -> ReceivedOut:
    hit_identity(request, "request_intake", "email", body.identities.get("email"))
    received = charter.requests.submit(_new(body, ReceivedVia.API.value))
    return ReceivedOut(id=received.id, status=received.status, due_at=received.due_at)


@router.post(
    "/staff/requests",
    status_code=202,
    response_model=ReceivedOut,
    responses=_ERRORS,
    summary="Record a request a person made by e-mail, letter or phone (staff)",
)
def file_for_person(
    body: StaffRequestIn,
    caller: Caller = Depends(require(Permission.FILE_REQUEST)),
    charter: Charter = Depends(get_charter),
) -> ReceivedOut:
    received = charter.requests.submit(_new(body, body.received_via), actor=token_actor(caller))
    return ReceivedOut(id=received.id, status=received.status, due_at=received.due_at)


@router.post(
    "/requests/{request_id}/verify",
    response_model=VerifiedOut,
    responses=_ERRORS,
    dependencies=[Depends(limited("request_verify"))],
    summary="Verify a request with the code sent by e-mail",
)
def verify(
    body: VerifyIn,
    request: Request,
    request_id: str = RequestId,
    charter: Charter = Depends(get_charter),
) -> VerifiedOut:
    hit_identity(request, "request_verify", "request", request_id)
    verified = charter.requests.verify(request_id, body.code)
    if gpc.signalled(request):
        # The person proved who they are from a browser sending the signal: their opt-out.
        charter.preferences.opt_out_for_request(request_id)
    _wake(request)
    return VerifiedOut(status=verified.status, access_token=verified.access_token)


@router.post(
    "/requests/{request_id}/code",
    status_code=202,
    responses=_ERRORS,
    dependencies=[Depends(limited("request_code"))],
    summary="Send a new verification code (at most one a minute)",
)
def resend_code(
    request: Request, request_id: str = RequestId, charter: Charter = Depends(get_charter)
) -> dict[str, str]:
    hit_identity(request, "request_code", "request", request_id)
    charter.requests.resend_code(request_id)
    return {"status": "awaiting_verification"}


@router.get(
    "/requests/{request_id}",
    response_model=RequestOut,
    responses=_ERRORS,
    dependencies=[Depends(limited("request_status"))],
    summary="A request's status, deadlines and history (the person's token, or staff)",
)
def status(
    request_id: str = RequestId,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    staff: Caller | None = Depends(staff_or_person(Permission.READ_REQUESTS)),
    charter: Charter = Depends(get_charter),
) -> RequestOut:
    if staff is None:
        token = credentials.credentials if credentials is not None else None
        charter.requests.authorise_person(request_id, token)
    return request_out(charter.requests.view(request_id))


@router.get(
    "/requests/{request_id}/package",
    responses={**_ERRORS, 200: {"content": {"application/zip": {}}}},
    dependencies=[Depends(limited("request_status"))],
    summary="The access package: report.html, data.json and a CSV per table (the person's token)",
)
def package(
    request_id: str = RequestId,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    charter: Charter = Depends(get_charter),
) -> Response:
    charter.requests.authorise_person(
        request_id, credentials.credentials if credentials is not None else None
    )
    return package_download(charter, request_id)


@router.get(
    "/requests",
    response_model=QueueOut,
    responses=_ERRORS,
    dependencies=[Depends(require(Permission.READ_REQUESTS))],
    summary="The open requests by days left, overdue first (staff)",
)
def queue(
    include_closed: bool = False, overdue: bool = False, charter: Charter = Depends(get_charter)
) -> QueueOut:
    views = charter.requests.queue(include_closed=include_closed, overdue_only=overdue)
    return QueueOut(requests=[request_out(v) for v in views])


@router.post(
    "/requests/{request_id}/approve",
    response_model=MovedOut,
    responses=_ERRORS,
    summary="Approve a verified request for execution (privacy team)",
)
def approve(
    request: Request,
    request_id: str = RequestId,
    caller: Caller = Depends(require(Permission.DECIDE_REQUEST)),
    charter: Charter = Depends(get_charter),
) -> MovedOut:
    charter.requests.approve(request_id, token_actor(caller))
    _wake(request)
    return _moved(charter, request_id)


@router.post(
    "/requests/{request_id}/extend",
    response_model=MovedOut,
    responses=_ERRORS,
    summary="Extend the deadline once, telling the person why (privacy team)",
)
def extend(
    body: ReasonsIn,
    request_id: str = RequestId,
    caller: Caller = Depends(require(Permission.DECIDE_REQUEST)),
    charter: Charter = Depends(get_charter),
) -> MovedOut:
    charter.requests.extend(request_id, token_actor(caller), body.reasons)
    return _moved(charter, request_id)


@router.post(
    "/requests/{request_id}/reject",
    response_model=MovedOut,
    responses=_ERRORS,
    summary="Refuse a request with reasons; the person is told they may complain (privacy team)",
)
def reject(
    body: ReasonsIn,
    request_id: str = RequestId,
    caller: Caller = Depends(require(Permission.DECIDE_REQUEST)),
    charter: Charter = Depends(get_charter),
) -> MovedOut:
    charter.requests.reject(request_id, token_actor(caller), body.reasons)
    return _moved(charter, request_id)


class NoteIn(Body):
    note: str = Field(min_length=1, max_length=4000, description="What was done, by whom.")


@router.post(
    "/requests/{request_id}/steps/{seq}/confirm",
    response_model=MovedOut,
    responses=_ERRORS,
    summary="Confirm a step carried out by hand in a system with no connector (privacy team)",
)
def confirm_step(
    body: NoteIn,
    request: Request,
    request_id: str = RequestId,
    seq: int = Path(ge=0, le=10_000),
    caller: Caller = Depends(require(Permission.DECIDE_REQUEST)),
    charter: Charter = Depends(get_charter),
) -> MovedOut:
    charter.rights.confirm_manual_step(request_id, seq, token_actor(caller), body.note)
    _wake(request)
    return _moved(charter, request_id)


def _moved(charter: Charter, request_id: str) -> MovedOut:
    view = charter.requests.view(request_id)
    return MovedOut(id=view.id, status=view.status, due_at=view.due_at)


def _wake(request: Request) -> None:
    """Have the background worker carry the request out now rather than on its next round."""
    worker = request.app.state.worker
    if worker is not None:
        worker.wake()


def token_actor(caller: Caller) -> str:
    return f"token:{caller.token_id}"
