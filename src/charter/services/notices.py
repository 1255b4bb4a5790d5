"""Telling recipients that a person's data was erased, corrected or restricted (Art. 17(2), 19).

Which recipients: those of kind processor, affiliate or third party whose categories overlap the
person's data, or to which the disclosures ledger says their data was disclosed. Public
recipients are reached through the systems that publish (a forum's connector or manual step);
a touchpoint's ``publication.republishers`` copy only what was published, so they are told only
of the erasure of people who published there (``charter.services.publication``), unless the
ledger records a disclosure to them; authorities are not notified (disclosures to them follow a
legal obligation). How: the
recipient's ``notify`` in the manifest, an e-mail through Charter's outbox or a POST of a JSON
notice to an HTTPS webhook (signed with HMAC-SHA256 when a secret is set);
a recipient with neither gets a step that staff carry out by hand and confirm.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from charter.domain.categories import covered_by_any, covers
from charter.domain.errors import InvalidInput
from charter.domain.requests import RequestType
from charter.manifest.models import Manifest, Recipient, RecipientKind
from charter.services.delivery import post_json
from charter.services.outbox import Message, Outbox
from charter.storage.store import Store

NOTIFIED_KINDS = frozenset(
    {RecipientKind.PROCESSOR, RecipientKind.AFFILIATE, RecipientKind.THIRD_PARTY}
)
NOTIFIED_TYPES = frozenset(
    {RequestType.ERASURE, RequestType.RECTIFICATION, RequestType.RESTRICTION}
)
_WHAT = {
    RequestType.ERASURE: "erase",
    RequestType.RECTIFICATION: "correct",
    RequestType.RESTRICTION: "restrict the use of",
}


def recipients_to_notify(
    manifest: Manifest, categories: Iterable[str], disclosed_to: Iterable[str] = ()
) -> list[str]:
    """The recipients holding any of ``categories`` (in either direction of the taxonomy: a
    recipient of ``user.contact`` holds ``user.contact.email``, and one of
    ``user.contact.email`` holds part of ``user.contact``), and those to which the person's
    data was actually disclosed (``disclosed_to``, from the disclosures ledger), in manifest
    order."""
    held = set(categories)
    disclosed = set(disclosed_to)
    republishers = {
        key
        for touchpoint in manifest.touchpoints.values()
        if touchpoint.publication is not None
        for key in touchpoint.publication.republishers
    }
    found = []
    for key, recipient in manifest.recipients.items():
        if recipient.kind not in NOTIFIED_KINDS:
            continue
        overlaps = any(
            covered_by_any(c, recipient.categories)
            or any(covers(c, r) for r in recipient.categories)
            for c in held
        )
        if key in disclosed or (overlaps and key not in republishers):
            found.append(key)
    return found


class Notifier:
    def __init__(
        self, manifest: Manifest, store: Store, outbox: Outbox, timeout: float = 10.0
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.outbox = outbox
        self.timeout = timeout

    def can_notify(self, recipient_key: str) -> bool:
        return self.manifest.recipients[recipient_key].notify is not None

    def notify(
        self,
        recipient_key: str,
        request_id: str,
        kind: RequestType,
        identities: Mapping[str, Sequence[str]],
        now: dt.datetime,
        about: str | None = None,
    ) -> dict[str, Any]:
        """Send the notice; returns the step's summary (no personal data). ``about``: a
        paragraph saying what the recipient holds (a republisher: the person's public posts)."""
        recipient = self.manifest.recipients[recipient_key]
        notice = recipient.notify
        if notice is None:
            raise InvalidInput(f"recipient '{recipient_key}' has no notify", code="no_notify")
        if notice.email is not None:
            with self.store.write() as connection:
                return self.queue(
                    connection, recipient_key, request_id, kind, identities, now, about
                )
        assert notice.webhook is not None
        body = json.dumps(
            {
                "request_id": request_id,
                "type": kind.value,
                "recipient": recipient_key,
                "identities": {k: list(v) for k, v in identities.items()},
                "sent_at": now.isoformat(),
                **({"about": about} if about else {}),
            },
            sort_keys=True,
        ).encode()
        headers: dict[str, str] = {}
        if notice.secret_env is not None:
            secret = os.environ.get(notice.secret_env)
            if not secret:
                raise InvalidInput(
                    f"the environment variable {notice.secret_env} is not set", code="system_unset"
                )
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            headers["Charter-Signature"] = f"sha256={digest}"
        # The manifest's webhooks are the operator's choice: private networks are allowed.
        status = post_json(notice.webhook, body, headers, allow_private=True, timeout=self.timeout)
        return {"via": "webhook", "recipient": recipient_key, "status": status}

    def by_email(self, recipient_key: str) -> bool:
        """Whether the recipient is told by e-mail: its notice is then only queued in Charter's
        outbox, so it can be part of a transaction of the store (``queue``)."""
        notice = self.manifest.recipients[recipient_key].notify
        return notice is not None and notice.email is not None

    def queue(
        self,
        connection: Connection,
        recipient_key: str,
        request_id: str,
        kind: RequestType,
        identities: Mapping[str, Sequence[str]],
        now: dt.datetime,
        about: str | None = None,
    ) -> dict[str, Any]:
        """Queue the e-mail notice of a recipient told by e-mail (``by_email``) in the caller's
        transaction: it is sent once that commits, and not at all if it rolls back."""
        recipient = self.manifest.recipients[recipient_key]
        if recipient.notify is None or recipient.notify.email is None:
            raise InvalidInput(
                f"recipient '{recipient_key}' has no notify e-mail", code="no_notify"
            )
        self.outbox.enqueue(
            connection,
            Message(
                to=recipient.notify.email,
                subject=f"Data subject request {request_id}: please {_WHAT[kind]} their data",
                body=self._body(recipient, request_id, kind, identities, about),
                kind="recipient_notice",
                sender=self.manifest.policy.controller.email,
                request_id=request_id,
            ),
            now,
        )
        return {"via": "email", "recipient": recipient_key}

    def _body(
        self,
        recipient: Recipient,
        request_id: str,
        kind: RequestType,
        identities: Mapping[str, Sequence[str]],
        about: str | None = None,
    ) -> str:
        who = "\n".join(f"  {k}: {', '.join(v)}" for k, v in sorted(identities.items()))
        extra = f"{about}\n\n" if about else ""
        controller = self.manifest.policy.controller
        return (
            f"To {recipient.name},\n\n"
            f"A person has asked us, {controller.name}, to {_WHAT[kind]} their personal data "
            f"(request {request_id}). We have done so in our systems. As a recipient of their "
            f"data, please {_WHAT[kind]} it in yours too (GDPR Art. 17(2) and 19). The person:\n\n"
            f"{who}\n\n{extra}"
            f"Please confirm to {controller.email} when done, quoting the request id.\n"
        )
