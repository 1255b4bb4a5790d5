"""A rights request's records and what every part of the request service shares.

The request's row (``request_row``, locked for an update on PostgreSQL), the key its contact,
details, step results and package are sealed under (``request_key``), its history
(``record_event``) and the destruction of what made it readable once it closes (``shred``);
``RequestBase`` holds the service's wiring and the mail helpers that intake, verification and
the privacy team's decisions share (each mail in the request's language: ``request_texts``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Connection, insert, update

from charter.domain.clock import Clock
from charter.domain.errors import InvalidInput, NotFound
from charter.domain.requests import (
    RequestStatus,
    RequestType,
    TransitionRefused,
    VerificationPolicy,
    transition,
)
from charter.manifest.models import Manifest
from charter.services.mail_language import content_language, texts_for
from charter.services.mail_texts import MailTexts
from charter.services.outbox import Message, Outbox
from charter.storage.rows import row_by_id
from charter.storage.store import Store
from charter.storage.tables import request_events, request_steps, rights_requests
from charter.storage.vault import Vault

PERSON = "person"
SYSTEM = "charter"


def digest(scope: str, secret: str) -> str:
    """How a code or an access token is stored: its SHA-256, never the secret."""
    return hashlib.sha256(f"{scope}:{secret}".encode()).hexdigest()


class RequestBase:
    """The request service's wiring and its shared helpers (see ``RequestService``)."""

    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        outbox: Outbox,
        public_base_url: str,
        *,
        verification: VerificationPolicy = VerificationPolicy(),
        approval_required: frozenset[RequestType] = frozenset({RequestType.ERASURE}),
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.base_url = public_base_url.rstrip("/")
        self.verification = verification
        self.approval_required = approval_required

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _allowed(status: RequestStatus, action: str) -> RequestStatus:
        try:
            return transition(status, action)
        except TransitionRefused as refused:
            raise InvalidInput(str(refused), code="not_allowed_now") from None

    def _contact(self, row: Any) -> str:
        if row.key_wrapped is None or row.contact_sealed is None:
            raise InvalidInput("this request's contact was erased", code="contact_erased")
        return str(
            Vault.open(
                request_key(self.store.vault, row), row.id, "contact", bytes(row.contact_sealed)
            )
        )

    def _send(
        self,
        connection: Connection,
        request_id: str,
        to: str,
        kind: str,
        t: MailTexts,
        subject: str,
        body: str,
        now: dt.datetime,
    ) -> None:
        self.outbox.enqueue(
            connection,
            Message(
                to=to,
                subject=subject,
                body=body,
                kind=kind,
                sender=self.manifest.policy.controller.email,
                request_id=request_id,
                headers=content_language(t),
            ),
            now,
        )

    def _tell_rejected(
        self,
        connection: Connection,
        row: Any,
        t: MailTexts,
        subject: str,
        body: str,
        now: dt.datetime,
    ) -> None:
        """Queue the refusal to the person, then destroy what made the request readable."""
        self._send(
            connection, row.id, self._contact(row), "request_rejected", t, subject, body, now
        )
        shred(connection, row.id)

    def _verify_link(self, request_id: str, code: str) -> str:
        return f"{self.base_url}/privacy/verify?request={request_id}&code={code}"

    def _status_link(self, request_id: str) -> str:
        return f"{self.base_url}/privacy/requests/{request_id}"


def request_texts(manifest: Manifest, connection: Connection, row: Any) -> MailTexts:
    """The texts of a mail about the request ``row`` (its language, else the person's
    recorded one, else the brand's: ``charter.domain.languages``)."""
    return texts_for(
        manifest, connection, brand=row.brand, subject_id=row.subject_id, requested=row.language
    )


def shred(connection: Connection, request_id: str) -> None:
    """Destroy what made a closed request readable (its key, contact, details, step results):
    only keyed hashes, the history and the outcome remain (kept at least 24 months)."""
    connection.execute(
        update(rights_requests)
        .where(rights_requests.c.id == request_id)
        .values(key_wrapped=None, contact_sealed=None, details_sealed=None, code_hash=None)
    )
    connection.execute(
        update(request_steps)
        .where(request_steps.c.request_id == request_id)
        .values(result_sealed=None)
    )


def record_event(
    connection: Connection,
    request_id: str,
    now: dt.datetime,
    kind: str,
    status: RequestStatus,
    actor: str,
    note: str | None,
) -> None:
    """One line of a request's history (no personal data: staff reasons aside)."""
    connection.execute(
        insert(request_events).values(
            request_id=request_id, at=now, kind=kind, status=status.value, actor=actor, note=note
        )
    )


def audit_actor(actor: str) -> str:
    """A request history's actor as the audit log names it (Charter itself is ``system``)."""
    return "system" if actor == SYSTEM else actor


def request_row(connection: Connection, request_id: str, *, for_update: bool = False) -> Any:
    """A request's row (locked on PostgreSQL with ``for_update``); ``NotFound`` otherwise."""
    row = row_by_id(connection, rights_requests, request_id, for_update=for_update)
    if row is None:
        raise NotFound(f"no request '{request_id}'", code="unknown_request")
    return row


def request_key(vault: Vault, row: Any) -> bytes:
    """The key a request's contact, details, step results and package are sealed under."""
    if row.key_wrapped is None:
        raise InvalidInput("this request's key was destroyed", code="request_closed")
    return vault.unwrap(row.id, bytes(row.key_wrapped))
