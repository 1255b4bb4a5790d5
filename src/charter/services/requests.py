"""Rights requests: intake, verification, status, and the privacy team's decisions.

- Intake (privacy center, API, or staff for a person who wrote in) records the request, its
  deadlines (``charter.domain.deadlines``) and a one-time code, and queues a message with the
  code and a link, all in one transaction. The code goes to the e-mail on file when the person
  is known (the address given if it is on file, else the subject's own), and to the address
  given when nobody is known: the answer is the same either way (no account enumeration), and
  a request for nobody ends with "we hold no data about you".
- Verification (``charter.domain.requests``) exchanges the code for an access token, the
  person's key to the status and the download; both are stored as hashes only.
- Every step writes the history and tells the person (received, verified, extended, completed,
  rejected with reasons and the right to complain). Filing, verification and the team's
  decisions are also appended to the audit log in the same transaction (ids, type, status;
  never the identities, the details or the reasons, which may name the person).

Requests are records the company must keep (at least 24 months): identities are stored only as
keyed hashes; what has to be readable while the request is open (the contact address, details
such as corrected values) is sealed under the request's own key, destroyed when it closes.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update

from charter.domain.deadlines import deadlines, rule_for
from charter.domain.errors import InvalidInput, InvalidValue
from charter.domain.languages import primary
from charter.domain.requests import (
    AttemptVerdict,
    ReceivedVia,
    RequestStatus,
    RequestType,
    VerificationState,
    after_failure,
    may_attempt,
    transition,
)
from charter.services import request_messages as texts
from charter.services.brands import require_brand
from charter.services.credentials import refuse_credential_changes
from charter.services.identify import hash_identities, locate
from charter.services.mail_language import texts_for
from charter.services.request_decisions import RequestDecisions
from charter.services.request_reading import RequestReading
from charter.services.request_records import (
    PERSON,
    SYSTEM,
    audit_actor,
    digest,
    record_event,
    request_row,
    request_texts,
)
from charter.services.rights_plan import check_changes
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import identities, rights_requests
from charter.storage.vault import Vault


@dataclass(frozen=True)
class NewRequest:
    type: str
    brand: str
    identities: Mapping[str, Any]
    details: Mapping[str, Any] = field(default_factory=dict)
    jurisdiction: str | None = None
    received_via: str = ReceivedVia.API.value
    language: str | None = None


@dataclass(frozen=True)
class Received:
    id: str
    status: str
    due_at: dt.datetime


@dataclass(frozen=True)
class Verified:
    status: str
    access_token: str


class RequestService(RequestReading, RequestDecisions):
    """Rights requests (see the module docstring): intake and verification here; reading in
    ``request_reading``, the team's decisions in ``request_decisions``, the shared records in
    ``request_records``."""

    # -- intake -----------------------------------------------------------------------------

    def submit(self, new: NewRequest, actor: str = PERSON) -> Received:
        """Record a request and send its verification code (see the module docstring)."""
        try:
            kind = RequestType(new.type)
            via = ReceivedVia(new.received_via)
        except ValueError:
            raise InvalidValue(
                f"type must be one of {', '.join(t.value for t in RequestType)}; received_via "
                f"one of {', '.join(v.value for v in ReceivedVia)}"
            ) from None
        if via in (ReceivedVia.PARENT_LINK, ReceivedVia.STAFF_ACTION):
            raise InvalidValue(f"received_via: '{via.value}' is set by Charter only")
        require_brand(self.manifest, new.brand)
        for where, text in (("jurisdiction", new.jurisdiction), ("language", new.language)):
            if text is not None:
                printable(text, where)
        if not new.identities.get("email"):
            raise InvalidInput(
                "identities.email is required: the verification code is sent by e-mail",
                code="email_required",
            )
        push_to = new.details.get("push_to")
        if push_to is not None and (
            kind is not RequestType.PORTABILITY
            or not isinstance(push_to, str)
            or not push_to.startswith("https://")
        ):
            raise InvalidValue("details.push_to: an https:// address, for a portability request")
        if kind is RequestType.RECTIFICATION:
            refuse_credential_changes(self.manifest, new.details.get("changes"))
            check_changes(self.manifest, new.details.get("changes"))
        region = self.manifest.policy.default_phone_region
        hashed = hash_identities(self.store.vault, new.identities, region)
        given_email = next(value for key, value in hashed if key.kind == "email")
        now = self.clock()
        rule = rule_for(new.jurisdiction)
        due = deadlines(rule, now, self.manifest.policy.response_deadline_days)
        request_id = str(uuid.uuid4())
        code = f"{secrets.randbelow(10**6):06d}"
        data_key = Vault.new_data_key()
        with self.store.write() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            subject_id = locate(repo, hashed)
            contact = given_email
            if subject_id is not None:
                on_file = [
                    value for kind_, value in repo.identities_of(subject_id) if kind_ == "email"
                ]
                if on_file and given_email not in on_file:
                    contact = on_file[0]
            connection.execute(
                insert(rights_requests).values(
                    id=request_id,
                    type=kind.value,
                    brand=new.brand,
                    status=RequestStatus.AWAITING_VERIFICATION.value,
                    received_via=via.value,
                    jurisdiction=new.jurisdiction,
                    language=primary(new.language),
                    deadline_rule=rule.key,
                    received_at=now,
                    confirm_by=due.confirm_by,
                    legal_due_at=due.legal_due_at,
                    due_at=due.due_at,
                    approval_required=kind in self.approval_required,
                    identity_hashes=sorted(
                        f"{key.kind}:{key.lookup_hash.hex()}" for key, _ in hashed
                    ),
                    subject_id=subject_id,
                    key_wrapped=self.store.vault.wrap(request_id, data_key),
                    contact_sealed=Vault.seal(data_key, request_id, "contact", contact),
                    details_sealed=Vault.seal(
                        data_key,
                        request_id,
                        "details",
                        {"details": dict(new.details), "identities": dict(new.identities)},
                    ),
                    code_hash=digest(request_id, code),
                    code_expires_at=now + self.verification.code_lifetime,
                    code_sent_at=now,
                    failed_attempts=0,
                    reminders_sent=[],
                )
            )
            record_event(
                connection,
                request_id,
                now,
                "received",
                RequestStatus.AWAITING_VERIFICATION,
                actor,
                f"via {via.value}",
            )
            t = texts_for(
                self.manifest,
                connection,
                brand=new.brand,
                subject_id=subject_id,
                requested=new.language,
            )
            subject, body = texts.received(
                self.manifest,
                t,
                new.brand,
                kind,
                request_id,
                code,
                self._verify_link(request_id, code),
                due.due_at,
                self.verification.code_lifetime,
            )
            self._send(connection, request_id, contact, "request_received", t, subject, body, now)
            record_event(
                connection,
                request_id,
                now,
                "message_sent",
                RequestStatus.AWAITING_VERIFICATION,
                SYSTEM,
                "received, with the verification code",
            )
            append_audit(
                connection,
                at=now,
                actor=audit_actor(actor),
                action="request.filed",
                target=request_id,
                details={"type": kind.value, "brand": new.brand, "via": via.value},
            )
        self.outbox.deliver()
        return Received(request_id, RequestStatus.AWAITING_VERIFICATION.value, due.due_at)

    def file_on_behalf(
        self,
        *,
        kind: RequestType,
        brand: str,
        subject_id: str,
        contact: str,
        via: ReceivedVia,
        actor: str,
        reason: str,
        note: str,
    ) -> str:
        """Record a request already verified by how it arrived (a parent's own link, a staff
        action), so that it runs now: no code to confirm, no approval to wait for (the act that
        files it is the decision). The person on ``contact`` is told when it is done; the audit log
        records who filed it and ``reason`` (a code, never the ``note``, which may name people)."""
        now = self.clock()
        rule = rule_for(None)
        due = deadlines(rule, now, self.manifest.policy.response_deadline_days)
        request_id = str(uuid.uuid4())
        data_key = Vault.new_data_key()
        with self.store.write() as connection:
            hashes = connection.execute(
                select(identities.c.kind, identities.c.lookup_hash).where(
                    identities.c.subject_id == subject_id
                )
            ).all()
            connection.execute(
                insert(rights_requests).values(
                    id=request_id,
                    type=kind.value,
                    brand=brand,
                    status=RequestStatus.VERIFIED.value,
                    received_via=via.value,
                    jurisdiction=None,
                    deadline_rule=rule.key,
                    received_at=now,
                    confirm_by=due.confirm_by,
                    legal_due_at=due.legal_due_at,
                    due_at=due.due_at,
                    verified_at=now,
                    approval_required=False,
                    identity_hashes=sorted(
                        f"{found.kind}:{bytes(found.lookup_hash).hex()}" for found in hashes
                    ),
                    subject_id=subject_id,
                    key_wrapped=self.store.vault.wrap(request_id, data_key),
                    contact_sealed=Vault.seal(data_key, request_id, "contact", contact),
                    details_sealed=Vault.seal(
                        data_key, request_id, "details", {"details": {}, "identities": {}}
                    ),
                    failed_attempts=0,
                    reminders_sent=[],
                )
            )
            status = RequestStatus.VERIFIED
            record_event(connection, request_id, now, "received", status, actor, note)
            record_event(connection, request_id, now, "verified", status, actor, f"via {via.value}")
            append_audit(
                connection,
                at=now,
                actor=audit_actor(actor),
                action="request.filed",
                target=request_id,
                details={
                    "type": kind.value,
                    "brand": brand,
                    "via": via.value,
                    "reason": reason,
                    "subject_id": subject_id,
                },
            )
        return request_id

    def resend_code(self, request_id: str) -> None:
        """A new code (the old one stops working), at most once per ``resend_interval``."""
        now = self.clock()
        code = f"{secrets.randbelow(10**6):06d}"
        with self.store.write() as connection:
            row = request_row(connection, request_id, for_update=True)
            if RequestStatus(row.status) is not RequestStatus.AWAITING_VERIFICATION:
                raise InvalidInput(
                    "this request needs no verification code", code="not_awaiting_verification"
                )
            if (
                row.code_sent_at is not None
                and now < utc(row.code_sent_at) + self.verification.resend_interval
            ):
                raise InvalidInput("a code was sent moments ago; wait a minute", code="too_soon")
            if row.failed_attempts >= self.verification.max_attempts:
                raise InvalidInput(
                    "this request is locked after too many wrong codes", code="verification_locked"
                )
            connection.execute(
                update(rights_requests)
                .where(rights_requests.c.id == request_id)
                .values(
                    code_hash=digest(request_id, code),
                    code_expires_at=now + self.verification.code_lifetime,
                    code_sent_at=now,
                )
            )
            contact = self._contact(row)
            t = request_texts(self.manifest, connection, row)
            subject, body = texts.code(
                self.manifest,
                t,
                row.brand,
                request_id,
                code,
                self._verify_link(request_id, code),
                self.verification.code_lifetime,
            )
            self._send(connection, request_id, contact, "verification_code", t, subject, body, now)
            record_event(
                connection,
                request_id,
                now,
                "code_sent",
                RequestStatus.AWAITING_VERIFICATION,
                SYSTEM,
                None,
            )
        self.outbox.deliver()

    # -- verification -------------------------------------------------------------------------

    def verify(self, request_id: str, code: str) -> Verified:
        """Exchange the code for the person's access token. Wrong codes are throttled; the
        fifth wrong code closes the request (the person may file a new one)."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        with self.store.write() as connection:
            row = request_row(connection, request_id, for_update=True)
            if RequestStatus(row.status) is not RequestStatus.AWAITING_VERIFICATION:
                raise InvalidInput(
                    "this request is already verified or closed", code="not_awaiting_verification"
                )
            state = VerificationState(
                utc(row.code_expires_at) if row.code_expires_at else None,
                int(row.failed_attempts),
                utc(row.next_attempt_at) if row.next_attempt_at else None,
            )
            verdict = may_attempt(state, self.verification, now)
            if verdict is AttemptVerdict.TOO_SOON:
                raise InvalidInput("too many tries: wait a few seconds", code="too_many_attempts")
            if verdict is AttemptVerdict.EXPIRED:
                raise InvalidInput("the code has expired: ask for a new one", code="code_expired")
            if verdict is AttemptVerdict.LOCKED or not secrets.compare_digest(
                digest(request_id, code.strip()), row.code_hash or ""
            ):
                failed = after_failure(state, now)
                values: dict[str, Any] = {
                    "failed_attempts": failed.failed_attempts,
                    "next_attempt_at": failed.next_attempt_at,
                }
                locked = failed.failed_attempts >= self.verification.max_attempts
                if locked:
                    values |= {
                        "status": RequestStatus.REJECTED.value,
                        "closed_at": now,
                        "code_hash": None,
                    }
                connection.execute(
                    update(rights_requests)
                    .where(rights_requests.c.id == request_id)
                    .values(**values)
                )
                if locked:
                    record_event(
                        connection,
                        request_id,
                        now,
                        "rejected",
                        RequestStatus.REJECTED,
                        SYSTEM,
                        "five wrong verification codes",
                    )
                    t = request_texts(self.manifest, connection, row)
                    subject, body = texts.rejected(
                        self.manifest, t, row.brand, request_id, t("request.rejected.wrong_codes")
                    )
                    self._tell_rejected(connection, row, t, subject, body, now)
                    append_audit(
                        connection,
                        at=now,
                        actor="system",
                        action="request.rejected",
                        target=request_id,
                        details={"status": RequestStatus.REJECTED.value, "reason": "wrong_codes"},
                    )
                wrong = InvalidInput(
                    "the code is wrong" + (": the request is now closed" if locked else ""),
                    code="verification_locked" if locked else "wrong_code",
                )
            else:
                wrong = None
                status = transition(
                    RequestStatus.AWAITING_VERIFICATION,
                    "verify",
                    approval_required=bool(row.approval_required),
                )
                connection.execute(
                    update(rights_requests)
                    .where(rights_requests.c.id == request_id)
                    .values(
                        status=status.value,
                        verified_at=now,
                        code_hash=None,
                        token_hash=digest("token", token),
                    )
                )
                record_event(connection, request_id, now, "verified", status, PERSON, None)
                t = request_texts(self.manifest, connection, row)
                subject, body = texts.verified(
                    self.manifest,
                    t,
                    row.brand,
                    request_id,
                    self._status_link(request_id),
                    utc(row.due_at),
                    status is RequestStatus.AWAITING_APPROVAL,
                )
                self._send(
                    connection,
                    request_id,
                    self._contact(row),
                    "request_verified",
                    t,
                    subject,
                    body,
                    now,
                )
                append_audit(
                    connection,
                    at=now,
                    actor=PERSON,
                    action="request.verified",
                    target=request_id,
                    details={"status": status.value},
                )
        self.outbox.deliver()
        if wrong is not None:
            raise wrong
        return Verified(status.value, token)
