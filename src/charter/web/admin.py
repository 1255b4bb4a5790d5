"""The staff console: ``/admin`` (the dashboard), ``/admin/requests`` (the request queue) and
``/admin/requests/{id}`` (one request).

Server-rendered forms, no JavaScript. Staff log in with an e-mail and a password
(``charter staff create``); the session lives in the ``charter_staff`` cookie (HttpOnly,
SameSite=Strict, Path=/admin, Secure over https). Every POST carries the session's CSRF token in
a hidden field; a missing or wrong token is refused (403), and so is the login form without the
token its page set (against logging someone in to an account of the attacker's choosing).

What a person sees and may do comes from ``charter.domain.permissions``: ``read_requests`` to see
the queue and a request, ``decide_request`` to approve, extend, refuse or confirm a step by hand.
``/admin/children`` is the staff action "improper child registration"
(``cancel_child_registration``): the account cancelled and all its data erased at once.
Each page and action declares its permission as a dependency (``ConsolePage``,
``ConsoleAction``; the route test reads it back): an anonymous GET is sent to the login page
(303); a POST without a session, its CSRF token or the right is refused (403). Pages are never
cached or framed, and load nothing from elsewhere (``charter.web.security`` adds the CSP).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from charter.domain.dashboard import days_left
from charter.domain.deadlines import RULES, Deadlines, can_extend
from charter.domain.errors import CharterError, InvalidValue, NotFound, Unauthorized
from charter.domain.permissions import Permission, allowed
from charter.domain.requests import OPEN, RequestStatus
from charter.facade import Charter
from charter.manifest.ropa import processing_records
from charter.services.request_reading import RequestView
from charter.services.staff import SESSION_LIFETIME, StaffSession
from charter.web.charts import bars, rate_groups
from charter.web.pages import charter_of, environment, sentence
from charter.web.ratelimit import limited

router = APIRouter(prefix="/admin", include_in_schema=False)
RequestId = Path(pattern=r"^[0-9a-f-]{36}$")
COOKIE = "charter_staff"
LOGIN_COOKIE = "charter_staff_login"
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_DONE = {
    "approved": "Approved: the request is being carried out.",
    "extended": "Extended: the person was told the new date and why.",
    "rejected": "Refused: the person was told why and that they may complain.",
    "confirmed": "Step confirmed.",
    "cancelled": "The child's account is cancelled and its data erased, as the steps show.",
}


def _secured(response: Response) -> Response:
    response.headers.update(HEADERS)
    return response


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A console page: never cached, never framed (``HEADERS``)."""
    html = environment().get_template(template).render(**context)
    response = HTMLResponse(html, status_code=status)
    _secured(response)
    return response


def redirect(url: str) -> Response:
    """After a console form: 303 to the page that shows the outcome."""
    return _secured(RedirectResponse(url, status_code=303))


def _refused(message: str, staff: StaffSession | None = None) -> HTMLResponse:
    return render("admin_message.html.j2", 403, title="Not allowed", error=message, staff=staff)


@dataclass(frozen=True)
class QueueRow:
    view: RequestView
    days_left: int
    overdue: bool


# -- who is asking --------------------------------------------------------------------------------


class Refused(Exception):
    """A console check's answer (the login page, a refusal page), raised from a dependency so
    that no page or action runs without its check; ``install`` has the app send it."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def _send_refusal(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    return exc.response


def install(app: FastAPI) -> None:
    app.add_exception_handler(Refused, _send_refusal)


class ConsolePage:
    """The session of a page (GET) whose role has ``permission``: none -> the login page (303);
    without the permission -> 403."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, request: Request, charter: Charter = Depends(charter_of)) -> StaffSession:
        staff = charter.staff.session(request.cookies.get(COOKIE))
        if staff is None:
            raise Refused(redirect("/admin/login"))
        self.check(staff)
        return staff

    def check(self, staff: StaffSession) -> None:
        if not allowed(staff.user.role, self.permission):
            what = _MAY.get(self.permission, self.permission.value.replace("_", " "))
            raise Refused(_refused(f"The role {staff.user.role.value} may not {what}.", staff))


class ConsoleAction(ConsolePage):
    """The session of a form (POST) that changes something: the session, then its CSRF token,
    then the permission; any missing -> 403."""

    def __call__(  # type: ignore[override]
        self,
        request: Request,
        csrf_token: str = Form(default="", max_length=128),
        charter: Charter = Depends(charter_of),
    ) -> StaffSession:
        staff = charter.staff.session(request.cookies.get(COOKIE))
        if staff is None:
            raise Refused(_refused("Your session has ended: log in again."))
        if not secrets.compare_digest(csrf_token.encode(), staff.csrf_token.encode()):
            raise Refused(_refused("This form has expired: reload the page and try again.", staff))
        self.check(staff)
        return staff


_MAY = {
    Permission.READ_REQUESTS: "see requests",
    Permission.DECIDE_REQUEST: "decide requests",
    Permission.CANCEL_CHILD_REGISTRATION: "cancel a child's registration",
    Permission.READ_REGISTERS: "read the registers",
}
_SEE = ConsolePage(Permission.READ_REQUESTS)
_DECIDE = ConsoleAction(Permission.DECIDE_REQUEST)
_CHILDREN = ConsolePage(Permission.CANCEL_CHILD_REGISTRATION)
_CANCEL_CHILD = ConsoleAction(Permission.CANCEL_CHILD_REGISTRATION)


def _wake(request: Request) -> None:
    worker = request.app.state.worker
    if worker is not None:
        worker.wake()


# -- login ----------------------------------------------------------------------------------------


def _login_page(
    request: Request, token: str, status: int = 200, error: str | None = None, email: str = ""
) -> Response:
    response = render(
        "admin_login.html.j2",
        status,
        title="Log in",
        error=error,
        csrf_token=token,
        email=email,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=60 * 60,
        path="/admin/login",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, charter: Charter = Depends(charter_of)) -> Response:
    if charter.staff.session(request.cookies.get(COOKIE)) is not None:
        return redirect("/admin")
    return _login_page(request, secrets.token_urlsafe(32))


@router.post("/login", response_class=HTMLResponse, dependencies=[Depends(limited("staff_login"))])
def login(
    request: Request,
    email: str = Form(default="", max_length=320),
    password: str = Form(default="", max_length=1024),
    csrf_token: str = Form(default="", max_length=128),
    charter: Charter = Depends(charter_of),
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf_token.encode(), expected.encode()):
        return _refused("This form has expired: reload the login page and try again.")
    try:
        session = charter.staff.login(email, password)
    except Unauthorized as error:
        return _login_page(request, expected, 401, sentence(error.message), email)
    response = redirect("/admin")
    response.delete_cookie(LOGIN_COOKIE, path="/admin/login")
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/admin",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
    return response


@router.post("/logout")
def logout(
    request: Request,
    csrf_token: str = Form(default="", max_length=128),
    charter: Charter = Depends(charter_of),
) -> Response:
    staff = charter.staff.session(request.cookies.get(COOKIE))
    if staff is not None:
        if not secrets.compare_digest(csrf_token.encode(), staff.csrf_token.encode()):
            return _refused("This form has expired: reload the page and try again.", staff)
        charter.staff.logout(staff.token)
    response = redirect("/admin/login")
    response.delete_cookie(
        COOKIE, path="/admin", httponly=True, secure=request.url.scheme == "https"
    )
    return response


# -- the queue and one request --------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def dashboard(
    staff: StaffSession = Depends(_SEE), charter: Charter = Depends(charter_of)
) -> Response:
    overview = charter.dashboard.overview()
    return render(
        "admin_dashboard.html.j2",
        title="Dashboard",
        staff=staff,
        overview=overview,
        breaches=charter.breaches.register(open_only=True),
        band_bars=bars([(b.label, b.count) for b in overview.bands]),
        rate_groups=rate_groups(overview.consent_rates, charter.manifest),
        partner_names={key: p.name for key, p in charter.manifest.partners.items()},
    )


@router.get("/requests", response_class=HTMLResponse)
def queue(staff: StaffSession = Depends(_SEE), charter: Charter = Depends(charter_of)) -> Response:
    now = charter.requests.clock()
    # The service lists open requests by due date, so the overdue ones come first.
    rows = [
        QueueRow(view, days_left(view.due_at, now), view.overdue)
        for view in charter.requests.queue()
    ]
    return render("admin_queue.html.j2", title="Requests", staff=staff, rows=rows)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def detail(
    request_id: str = RequestId,
    done: str = "",
    staff: StaffSession = Depends(_SEE),
    charter: Charter = Depends(charter_of),
) -> Response:
    return _detail(charter, staff, request_id, notice=_DONE.get(done))


def _detail(
    charter: Charter,
    staff: StaffSession,
    request_id: str,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    try:
        view = charter.requests.view(request_id)
    except NotFound:
        return render(
            "admin_message.html.j2", 404, title="No such request", error=None, staff=staff
        )
    now = charter.requests.clock()
    decide = allowed(staff.user.role, Permission.DECIDE_REQUEST)
    is_open = RequestStatus(view.status) in OPEN
    return render(
        "admin_request.html.j2",
        status,
        title=f"Request {view.id}",
        staff=staff,
        view=view,
        error=error,
        notice=notice,
        days_left=days_left(view.due_at, now) if is_open else None,
        overdue=view.overdue,
        can_approve=decide and view.status == RequestStatus.AWAITING_APPROVAL,
        can_extend=decide and is_open and _extendable(view, now),
        can_reject=decide and is_open,
        can_confirm=decide,
    )


def _extendable(view: RequestView, now: dt.datetime) -> bool:
    current = Deadlines(view.deadline_rule, view.legal_due_at, view.due_at, view.confirm_by)
    return can_extend(RULES[view.deadline_rule], current, now, extended=view.extended) == ""


def _act(
    request: Request,
    charter: Charter,
    staff: StaffSession,
    request_id: str,
    done: str,
    action: Callable[[str], object],
) -> Response:
    """Run ``action(actor)`` for a checked actor, and show the request again: with the
    outcome after a redirect, or with the refusal's reason on the page."""
    try:
        action(f"staff:{staff.user.id}")
    except NotFound as error:
        return render(
            "admin_message.html.j2", 404, title="No such request", error=error.message, staff=staff
        )
    except CharterError as error:
        return _detail(charter, staff, request_id, 422, error=sentence(error.message))
    if done in ("approved", "confirmed"):
        _wake(request)
    return redirect(f"/admin/requests/{request_id}?done={done}")


@router.post("/requests/{request_id}/approve")
def approve(
    request: Request,
    request_id: str = RequestId,
    staff: StaffSession = Depends(_DECIDE),
    charter: Charter = Depends(charter_of),
) -> Response:
    return _act(
        request,
        charter,
        staff,
        request_id,
        "approved",
        lambda actor: charter.requests.approve(request_id, actor),
    )


@router.post("/requests/{request_id}/extend")
def extend(
    request: Request,
    request_id: str = RequestId,
    reasons: str = Form(default="", max_length=4000),
    staff: StaffSession = Depends(_DECIDE),
    charter: Charter = Depends(charter_of),
) -> Response:
    return _act(
        request,
        charter,
        staff,
        request_id,
        "extended",
        lambda actor: charter.requests.extend(request_id, actor, reasons),
    )


@router.post("/requests/{request_id}/reject")
def reject(
    request: Request,
    request_id: str = RequestId,
    reasons: str = Form(default="", max_length=4000),
    staff: StaffSession = Depends(_DECIDE),
    charter: Charter = Depends(charter_of),
) -> Response:
    return _act(
        request,
        charter,
        staff,
        request_id,
        "rejected",
        lambda actor: charter.requests.reject(request_id, actor, reasons),
    )


@router.post("/requests/{request_id}/steps/{seq}/confirm")
def confirm_step(
    request: Request,
    request_id: str = RequestId,
    seq: int = Path(ge=0, le=10_000),
    note: str = Form(default="", max_length=4000),
    staff: StaffSession = Depends(_DECIDE),
    charter: Charter = Depends(charter_of),
) -> Response:
    def confirm(actor: str) -> object:
        if not note.strip():
            raise InvalidValue("note: say what was done in that system")
        return charter.rights.confirm_manual_step(request_id, seq, actor, note.strip())

    return _act(request, charter, staff, request_id, "confirmed", confirm)


# -- children --------------------------------------------------------------------------------------


def _children_page(
    charter: Charter, staff: StaffSession, status: int = 200, error: str | None = None, **form: str
) -> HTMLResponse:
    return render(
        "admin_children.html.j2",
        status,
        title="Improper child registration",
        staff=staff,
        error=error,
        brands=[(key, brand.name) for key, brand in charter.manifest.brands.items()],
        kinds=["email", "account_id", "phone"],
        form={"brand": "", "kind": "email", "value": "", "note": "", **form},
        child_age=charter.manifest.policy.child_age,
    )


@router.get("/children", response_class=HTMLResponse)
def children(
    staff: StaffSession = Depends(_CHILDREN), charter: Charter = Depends(charter_of)
) -> Response:
    return _children_page(charter, staff)


@router.post("/children/cancellations", response_class=HTMLResponse)
def cancel_child(
    brand: str = Form(default="", max_length=64),
    kind: str = Form(default="email", max_length=16),
    value: str = Form(default="", max_length=320),
    note: str = Form(default="", max_length=4000),
    sure: str = Form(default="", max_length=8),
    staff: StaffSession = Depends(_CANCEL_CHILD),
    charter: Charter = Depends(charter_of),
) -> Response:
    form = {"brand": brand, "kind": kind, "value": value, "note": note}
    try:
        if sure != "yes":
            raise InvalidValue("tick the box: this erases the account at once and for good")
        view = charter.cancel_child_registration(
            brand=brand,
            identities={kind: value},
            actor=f"staff:{staff.user.id}",
            note=note,
        )
    except NotFound as error:
        return _children_page(charter, staff, 404, sentence(error.message), **form)
    except CharterError as error:
        return _children_page(charter, staff, 422, sentence(error.message), **form)
    return redirect(f"/admin/requests/{view.id}?done=cancelled")


# -- records of processing ------------------------------------------------------------------------


_REGISTERS = ConsolePage(Permission.READ_REGISTERS)


@router.get("/ropa", response_class=HTMLResponse)
def ropa(
    staff: StaffSession = Depends(_REGISTERS), charter: Charter = Depends(charter_of)
) -> Response:
    return render(
        "admin_ropa.html.j2",
        title="Records of processing activities",
        staff=staff,
        records=processing_records(charter.manifest),
        policy=charter.manifest.policy,
    )
