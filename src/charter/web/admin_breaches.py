"""The breach register in the staff console (GDPR Art. 33, 34).

- ``/admin/breaches``: every breach, open ones first by hours left for the authority notice;
- ``/admin/breaches/new``: the form to record one;
- ``/admin/breaches/{id}``: its facts, the people concerned per system, the drafts of the
  authority notice (the next phase) and of the people's notice (per brand), its history, and
  the forms to record an authority notice phase, tell the people, record an Art. 34(3)
  exemption and count the people again.

``read_registers`` sees (an auditor too), ``manage_breaches`` acts; each page and form declares
its permission (``ConsolePage``, ``ConsoleAction``), and forms carry the session's CSRF token.
Times typed in the forms are UTC. The rules are ``charter.services.breaches``'.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Path
from fastapi.responses import HTMLResponse, Response

from charter.domain.breaches import CHARTER_SYSTEM, Exemption, Risk
from charter.domain.errors import CharterError, InvalidValue, NotFound
from charter.domain.permissions import Permission, allowed
from charter.facade import Charter
from charter.services.breach_notices import category_names, system_name
from charter.services.breaches import NewBreach
from charter.services.staff import StaffSession
from charter.web.admin import ConsoleAction, ConsolePage, redirect, render
from charter.web.forms import category_choices, typed_moment
from charter.web.pages import charter_of, sentence

router = APIRouter(prefix="/admin/breaches", include_in_schema=False)
BreachId = Path(pattern=r"^[0-9a-f-]{36}$")
_SEE = ConsolePage(Permission.READ_REGISTERS)
_MANAGE_PAGE = ConsolePage(Permission.MANAGE_BREACHES)
_MANAGE = ConsoleAction(Permission.MANAGE_BREACHES)
_TEXT = 20_000
_DONE = {
    "recorded": "Breach recorded; the people concerned were counted.",
    "notified": "The authority notice is recorded as submitted.",
    "told": "The messages to the people concerned are queued.",
    "exempted": "The exemption is recorded with its reasons.",
    "recounted": "The people concerned were counted again.",
}


# -- the register ---------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
def register(
    staff: StaffSession = Depends(_SEE), charter: Charter = Depends(charter_of)
) -> Response:
    return render(
        "admin_breaches.html.j2",
        title="Breach register",
        staff=staff,
        views=charter.breaches.register(),
        can_manage=allowed(staff.user.role, Permission.MANAGE_BREACHES),
    )


def _form_page(
    charter: Charter,
    staff: StaffSession,
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    groups, categories = category_choices(charter.manifest)
    return render(
        "admin_breach_new.html.j2",
        status,
        title="Record a breach",
        staff=staff,
        error=error,
        systems=[(CHARTER_SYSTEM, system_name(charter.manifest, CHARTER_SYSTEM))]
        + [(key, system.name) for key, system in charter.manifest.systems.items()],
        categories=categories,
        groups=groups,
        risks=[risk.value for risk in Risk],
        form={"systems": [], "categories": [], "risk": "", **(form or {})},
    )


@router.get("/new", response_class=HTMLResponse)
def new_form(
    staff: StaffSession = Depends(_MANAGE_PAGE), charter: Charter = Depends(charter_of)
) -> Response:
    return _form_page(charter, staff)


@router.post("", response_class=HTMLResponse)
def record(
    title: str = Form(default="", max_length=200),
    description: str = Form(default="", max_length=_TEXT),
    aware_at: str = Form(default="", max_length=40),
    occurred_at: str = Form(default="", max_length=40),
    contained_at: str = Form(default="", max_length=40),
    systems: list[str] = Form(default=[]),
    categories: list[str] = Form(default=[]),
    risk: str = Form(default="", max_length=16),
    risk_reasons: str = Form(default="", max_length=_TEXT),
    consequences: str = Form(default="", max_length=_TEXT),
    measures: str = Form(default="", max_length=_TEXT),
    advice: str = Form(default="", max_length=_TEXT),
    staff: StaffSession = Depends(_MANAGE),
    charter: Charter = Depends(charter_of),
) -> Response:
    form = {
        "title": title,
        "description": description,
        "aware_at": aware_at,
        "occurred_at": occurred_at,
        "contained_at": contained_at,
        "systems": systems,
        "categories": categories,
        "risk": risk,
        "risk_reasons": risk_reasons,
        "consequences": consequences,
        "measures": measures,
        "advice": advice,
    }
    try:
        aware = typed_moment(aware_at, "aware_at", required=True)
        assert aware is not None
        view = charter.breaches.record(
            NewBreach(
                title=title,
                description=description,
                aware_at=aware,
                occurred_at=typed_moment(occurred_at, "occurred_at"),
                contained_at=typed_moment(contained_at, "contained_at"),
                systems=systems[:100],
                categories=categories[:200],
                risk=risk,
                risk_reasons=risk_reasons,
                consequences=consequences,
                measures=measures,
                advice=advice or None,
            ),
            f"staff:{staff.user.id}",
        )
    except CharterError as error:
        return _form_page(charter, staff, 422, sentence(error.message), form)
    return redirect(f"/admin/breaches/{view.id}?done=recorded")


# -- one breach -----------------------------------------------------------------------------------


@router.get("/{breach_id}", response_class=HTMLResponse)
def detail(
    breach_id: str = BreachId,
    done: str = "",
    brand: str = "",
    staff: StaffSession = Depends(_SEE),
    charter: Charter = Depends(charter_of),
) -> Response:
    return _detail(charter, staff, breach_id, notice=_DONE.get(done), brand=brand)


def _detail(
    charter: Charter,
    staff: StaffSession,
    breach_id: str,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    brand: str = "",
) -> Response:
    try:
        view = charter.breaches.view(breach_id)
    except NotFound:
        return render("admin_message.html.j2", 404, title="No such breach", error=None, staff=staff)
    brands = list(charter.manifest.brands)
    shown = brand if brand in brands else brands[0]
    subject, body = charter.breaches.people_notice(breach_id, shown)
    manage = allowed(staff.user.role, Permission.MANAGE_BREACHES)
    return render(
        "admin_breach.html.j2",
        status,
        title=view.title,
        staff=staff,
        view=view,
        error=error,
        notice=notice,
        systems=[(key, system_name(charter.manifest, key)) for key in view.systems],
        categories=category_names(charter.manifest, view.categories),
        counts=[
            {**count, "name": system_name(charter.manifest, count["system"])}
            for count in view.affected.get("systems", [])
        ],
        authority_draft=charter.breaches.authority_notice(breach_id),
        people_subject=subject,
        people_body=body,
        brands=[(key, charter.manifest.brands[key].name) for key in brands],
        brand=shown,
        exemptions=[ground.value for ground in Exemption],
        can_manage=manage,
        can_tell=manage and view.people_notified_at is None and not view.exemption,
        can_exempt=manage
        and view.people_required
        and view.people_notified_at is None
        and not view.exemption
        and view.people_told == 0,
    )


def _act(charter: Charter, staff: StaffSession, breach_id: str, done: str, action: Any) -> Response:
    """Run ``action(actor)`` and show the breach again: after a redirect with the outcome, or
    with the refusal's reason on the page (422)."""
    try:
        action(f"staff:{staff.user.id}")
    except NotFound as error:
        return render(
            "admin_message.html.j2", 404, title="No such breach", error=error.message, staff=staff
        )
    except CharterError as error:
        return _detail(charter, staff, breach_id, 422, error=sentence(error.message))
    return redirect(f"/admin/breaches/{breach_id}?done={done}")


@router.post("/{breach_id}/authority-notice", response_class=HTMLResponse)
def notify_authority(
    breach_id: str = BreachId,
    submitted_at: str = Form(default="", max_length=40),
    delay_reasons: str = Form(default="", max_length=_TEXT),
    reference: str = Form(default="", max_length=200),
    additional: str = Form(default="", max_length=_TEXT),
    staff: StaffSession = Depends(_MANAGE),
    charter: Charter = Depends(charter_of),
) -> Response:
    def notify(actor: str) -> object:
        return charter.breaches.notify_authority(
            breach_id,
            actor,
            submitted_at=typed_moment(submitted_at, "submitted_at"),
            delay_reasons=delay_reasons,
            reference=reference.strip() or None,
            additional=additional or None,
        )

    return _act(charter, staff, breach_id, "notified", notify)


@router.post("/{breach_id}/notify-people", response_class=HTMLResponse)
def notify_people(
    breach_id: str = BreachId,
    advice: str = Form(default="", max_length=_TEXT),
    sure: str = Form(default="", max_length=8),
    staff: StaffSession = Depends(_MANAGE),
    charter: Charter = Depends(charter_of),
) -> Response:
    def tell(actor: str) -> object:
        if sure != "yes":
            raise InvalidValue("tick the box: this sends a message to every person concerned")
        return charter.breaches.notify_people(breach_id, actor, advice=advice or None)

    return _act(charter, staff, breach_id, "told", tell)


@router.post("/{breach_id}/people-exemption", response_class=HTMLResponse)
def exempt_people(
    breach_id: str = BreachId,
    ground: str = Form(default="", max_length=32),
    reasons: str = Form(default="", max_length=_TEXT),
    public_communication: str = Form(default="", max_length=_TEXT),
    staff: StaffSession = Depends(_MANAGE),
    charter: Charter = Depends(charter_of),
) -> Response:
    return _act(
        charter,
        staff,
        breach_id,
        "exempted",
        lambda actor: charter.breaches.exempt_people(
            breach_id,
            actor,
            ground=ground,
            reasons=reasons,
            public_communication=public_communication,
        ),
    )


@router.post("/{breach_id}/affected", response_class=HTMLResponse)
def recount(
    breach_id: str = BreachId,
    staff: StaffSession = Depends(_MANAGE),
    charter: Charter = Depends(charter_of),
) -> Response:
    return _act(
        charter,
        staff,
        breach_id,
        "recounted",
        lambda actor: charter.breaches.recount(breach_id, actor),
    )
