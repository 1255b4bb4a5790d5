"""What a person is told at each step of their rights request (plain text e-mails).

Every message names the brand, the request, what happens next and by when; a refusal gives the
reasons and the right to complain to a supervisory authority (GDPR Art. 12(4)). Each is written
in the language of the request (``charter.domain.languages``) with the texts of ``t``; what
staff wrote (reasons) goes as written.
"""

from __future__ import annotations

import datetime as dt

from charter.domain.requests import RequestType
from charter.manifest.models import Manifest
from charter.services.mail_texts import MailTexts


def _brand(manifest: Manifest, brand: str) -> str:
    return manifest.brands[brand].name


def sign_off(manifest: Manifest, t: MailTexts) -> str:
    controller = manifest.policy.controller
    return t.sign_off(controller.name, controller.email)


def complain(manifest: Manifest, t: MailTexts) -> str:
    """The right to complain to a supervisory authority (Art. 12(4), 77)."""
    where = manifest.policy.supervisory_authority_url
    return t("complain", authority=t("complain.authority", url=where) if where else "")


def received(
    manifest: Manifest,
    t: MailTexts,
    brand: str,
    kind: RequestType,
    request_id: str,
    code: str,
    link: str,
    due_at: dt.datetime,
    lifetime: dt.timedelta,
) -> tuple[str, str]:
    body = t(
        "request.received.body",
        what=t(f"request.what.{kind.value}"),
        brand=_brand(manifest, brand),
        request=request_id,
        code=code,
        link=link,
        minutes=int(lifetime.total_seconds() // 60),
        date=t.date(due_at),
    )
    subject = t("request.received.subject", brand=_brand(manifest, brand))
    return subject, body + sign_off(manifest, t)


def code(
    manifest: Manifest,
    t: MailTexts,
    brand: str,
    request_id: str,
    new_code: str,
    link: str,
    lifetime: dt.timedelta,
) -> tuple[str, str]:
    body = t(
        "request.code.body",
        request=request_id,
        code=new_code,
        link=link,
        minutes=int(lifetime.total_seconds() // 60),
    )
    subject = t("request.code.subject", brand=_brand(manifest, brand))
    return subject, body + sign_off(manifest, t)


def verified(
    manifest: Manifest,
    t: MailTexts,
    brand: str,
    request_id: str,
    status_link: str,
    due_at: dt.datetime,
    needs_approval: bool,
) -> tuple[str, str]:
    body = t(
        "request.verified.body",
        request=request_id,
        step=t("request.verified.review" if needs_approval else "request.verified.running"),
        date=t.date(due_at),
        link=status_link,
    )
    subject = t("request.verified.subject", brand=_brand(manifest, brand))
    return subject, body + sign_off(manifest, t)


def extended(
    manifest: Manifest,
    t: MailTexts,
    brand: str,
    request_id: str,
    due_at: dt.datetime,
    reasons: str,
) -> tuple[str, str]:
    body = t(
        "request.extended.body",
        request=request_id,
        reasons=reasons,
        date=t.date(due_at),
        complain=complain(manifest, t),
    )
    subject = t("request.extended.subject", brand=_brand(manifest, brand))
    return subject, body + sign_off(manifest, t)


def rejected(
    manifest: Manifest, t: MailTexts, brand: str, request_id: str, reasons: str
) -> tuple[str, str]:
    body = t(
        "request.rejected.body", request=request_id, reasons=reasons, complain=complain(manifest, t)
    )
    subject = t("request.rejected.subject", brand=_brand(manifest, brand))
    return subject, body + sign_off(manifest, t)


def completed(
    manifest: Manifest,
    t: MailTexts,
    brand: str,
    request_id: str,
    summary: str,
    link: str | None,
) -> tuple[str, str]:
    body = t(
        "request.completed.body",
        request=request_id,
        summary=summary,
        download=t("request.completed.download", link=link) if link else "",
        complain=complain(manifest, t),
    )
    subject = t("request.completed.subject", brand=_brand(manifest, brand))
    return subject, body + sign_off(manifest, t)


def reminder(request_id: str, kind: str, due_at: dt.datetime, days: int) -> tuple[str, str]:
    """To the privacy team (no personal data: the request is named by its id); in English,
    the language of the console."""
    when = "tomorrow" if days == 1 else f"in {days} days"
    body = (
        f"The {kind.replace('_', ' ')} request {request_id} is due {when} "
        f"({due_at.strftime('%d %B %Y %H:%M')} UTC). Open it in the admin console to carry it "
        "out, or extend it (once, with reasons told to the person) before the deadline."
    )
    return f"Privacy request due {when}: {request_id}", body
