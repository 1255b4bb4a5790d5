"""What a person is told at each step of their rights request (plain text e-mails).

Every message names the brand, the request, what happens next and by when; a refusal gives the
reasons and the right to complain to a supervisory authority (GDPR Art. 12(4)).
"""

from __future__ import annotations

import datetime as dt

from charter.domain.requests import RequestType
from charter.manifest.models import Manifest

_WHAT = {
    RequestType.ACCESS: "a copy of the personal data we hold about you",
    RequestType.PORTABILITY: "your data in a machine-readable format",
    RequestType.RECTIFICATION: "the correction of your personal data",
    RequestType.ERASURE: "the erasure of your personal data",
    RequestType.RESTRICTION: "the restriction of the use of your personal data",
    RequestType.OBJECTION: "your objection to a use of your personal data",
    RequestType.WITHDRAW_CONSENT: "the withdrawal of your consent",
}


def _date(moment: dt.datetime) -> str:
    return moment.strftime("%d %B %Y")


def _brand(manifest: Manifest, brand: str) -> str:
    return manifest.brands[brand].name


def _sign_off(manifest: Manifest) -> str:
    controller = manifest.policy.controller
    return f"\n\n{controller.name} privacy team\n{controller.email}\n"


def _complain(manifest: Manifest) -> str:
    where = manifest.policy.supervisory_authority_url
    authority = f" (for example {where})" if where else ""
    return (
        "If you are not satisfied, you have the right to complain to a data protection "
        f"supervisory authority{authority}, in particular in the country where you live or work."
    )


def received(
    manifest: Manifest,
    brand: str,
    kind: RequestType,
    request_id: str,
    code: str,
    link: str,
    due_at: dt.datetime,
    lifetime: dt.timedelta,
) -> tuple[str, str]:
    minutes = int(lifetime.total_seconds() // 60)
    body = (
        f"We received your request for {_WHAT[kind]} ({_brand(manifest, brand)}, "
        f"request {request_id}).\n\n"
        "To protect your data we first check that the request comes from you. Your code:\n\n"
        f"    {code}\n\n"
        f"Enter it on the request page, or open this link: {link}\n"
        f"The code works for {minutes} minutes. If you did not ask for this, ignore this message: "
        "nothing happens without the code.\n\n"
        f"We will answer by {_date(due_at)} at the latest."
    )
    return f"Your privacy request to {_brand(manifest, brand)}: your code", body + _sign_off(
        manifest
    )


def code(
    manifest: Manifest,
    brand: str,
    request_id: str,
    new_code: str,
    link: str,
    lifetime: dt.timedelta,
) -> tuple[str, str]:
    minutes = int(lifetime.total_seconds() // 60)
    body = (
        f"Here is a new code for your request {request_id}:\n\n    {new_code}\n\n"
        f"Or open this link: {link}\nIt works for {minutes} minutes; earlier codes no longer do."
    )
    return f"Your new code for {_brand(manifest, brand)}", body + _sign_off(manifest)


def verified(
    manifest: Manifest,
    brand: str,
    request_id: str,
    status_link: str,
    due_at: dt.datetime,
    needs_approval: bool,
) -> tuple[str, str]:
    step = (
        "Our privacy team reviews it before we carry it out."
        if needs_approval
        else "We are now carrying it out."
    )
    body = (
        f"Thank you: your request {request_id} is confirmed. {step}\n"
        f"We will answer by {_date(due_at)} at the latest. You can follow it here: {status_link}"
    )
    return f"Your privacy request to {_brand(manifest, brand)} is confirmed", body + _sign_off(
        manifest
    )


def extended(
    manifest: Manifest, brand: str, request_id: str, due_at: dt.datetime, reasons: str
) -> tuple[str, str]:
    body = (
        f"We need more time to answer your request {request_id}: {reasons}\n\n"
        f"The law allows us to extend the deadline once; we will answer by {_date(due_at)}.\n\n"
        + _complain(manifest)
    )
    return f"Your privacy request to {_brand(manifest, brand)}: more time needed", body + (
        _sign_off(manifest)
    )


def rejected(manifest: Manifest, brand: str, request_id: str, reasons: str) -> tuple[str, str]:
    body = f"We cannot carry out your request {request_id}: {reasons}\n\n" + _complain(manifest)
    return f"Your privacy request to {_brand(manifest, brand)}", body + _sign_off(manifest)


def completed(
    manifest: Manifest, brand: str, request_id: str, summary: str, link: str | None
) -> tuple[str, str]:
    download = f"\n\nDownload your data here (the link expires): {link}" if link else ""
    body = f"Your request {request_id} is complete.\n\n{summary}{download}\n\n" + _complain(
        manifest
    )
    return f"Your privacy request to {_brand(manifest, brand)} is complete", body + _sign_off(
        manifest
    )


def reminder(request_id: str, kind: str, due_at: dt.datetime, days: int) -> tuple[str, str]:
    """To the privacy team (no personal data: the request is named by its id)."""
    when = "tomorrow" if days == 1 else f"in {days} days"
    body = (
        f"The {kind.replace('_', ' ')} request {request_id} is due {when} "
        f"({due_at.strftime('%d %B %Y %H:%M')} UTC). Open it in the admin console to carry it "
        "out, or extend it (once, with reasons told to the person) before the deadline."
    )
    return f"Privacy request due {when}: {request_id}", body
