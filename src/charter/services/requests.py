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
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select, update

from charter.domain.clock import Clock
from charter.domain.deadlines import (
    RULES,
    Deadlines,
    can_extend,
    deadlines,
    extended,
    reminders_due,
    rule_for,
)
from charter.domain.errors import InvalidInput, InvalidValue, NotFound, Unauthorized
from charter.domain.requests import (
    OPEN,
    AttemptVerdict,
    ReceivedVia,
    RequestStatus,
    RequestType,
    TransitionRefused,
    VerificationPolicy,
    VerificationState,
    after_failure,
    may_attempt,
    transition,
)
from charter.manifest.models import Manifest
from charter.services import request_messages as texts
from charter.services.brands import require_brand
from charter.services.credentials import refuse_credential_changes
from charter.services.identify import hash_identities, locate
from charter.services.outbox import Message, Outbox
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.rows import row_by_id
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import (
    identities,
    request_events,
    request_packages,
    request_steps,
    rights_requests,
)
from charter.storage.vault import Vault

PERSON = "person"
SYSTEM = "charter"


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


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    kind: str
    status: str
    actor: str
    note: str | None


@dataclass(frozen=True)
class StepView:
    seq: int
    system: str
    target: str | None
    action: str
    status: str
    attempts: int
    error: str | None


@dataclass(frozen=True)
class RequestView:
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
    history: list[HistoryEntry]
    steps: list[StepView]
    overdue: bool
    """Still open after its deadline: staff see these first."""


def _digest(scope: str, secret: str) -> str:
    return hashlib.sha256(f"{scope}:{secret}".encode()).hexdigest()


class RequestService:
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
                    code_hash=_digest(request_id, code),
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
            subject, body = texts.received(
                self.manifest,
                new.brand,
                kind,
                request_id,
                code,
                self._verify_link(request_id, code),
                due.due_at,
                self.verification.code_lifetime,
            )
            self._send(connection, request_id, contact, "request_received", subject, body, now)
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
                    code_hash=_digest(request_id, code),
                    code_expires_at=now + self.verification.code_lifetime,
                    code_sent_at=now,
                )
            )
            contact = self._contact(row)
            subject, body = texts.code(
                self.manifest,
                row.brand,
                request_id,
                code,
                self._verify_link(request_id, code),
                self.verification.code_lifetime,
            )
            self._send(connection, request_id, contact, "verification_code", subject, body, now)
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
                _digest(request_id, code.strip()), row.code_hash or ""
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
                    subject, body = texts.rejected(
                        self.manifest,
                        row.brand,
                        request_id,
                        "the verification code was entered wrongly five times; "
                        "you may send a new request",
                    )
                    self._tell_rejected(connection, row, subject, body, now)
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
                        token_hash=_digest("token", token),
                    )
                )
                record_event(connection, request_id, now, "verified", status, PERSON, None)
                subject, body = texts.verified(
                    self.manifest,
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

    # -- reading ------------------------------------------------------------------------------

    def authorise_person(self, request_id: str, token: str | None) -> None:
        """The person's access token opens their own request only."""
        if not token:
            raise Unauthorized("the request's access token is required")
        with self.store.read() as connection:
            stored = connection.scalar(
                select(rights_requests.c.token_hash).where(rights_requests.c.id == request_id)
            )
        if stored is None or not secrets.compare_digest(stored, _digest("token", token)):
            raise Unauthorized("the access token does not open this request")

    def view(self, request_id: str) -> RequestView:
        with self.store.read() as connection:
            row = request_row(connection, request_id)
            history = [
                HistoryEntry(utc(e.at), e.kind, e.status, e.actor, e.note)
                for e in connection.execute(
                    select(request_events)
                    .where(request_events.c.request_id == request_id)
                    .order_by(request_events.c.id)
                )
            ]
            steps = [
                StepView(s.seq, s.system, s.target, s.action, s.status, s.attempts, s.error)
                for s in connection.execute(
                    select(request_steps)
                    .where(request_steps.c.request_id == request_id)
                    .order_by(request_steps.c.seq)
                )
            ]
        return RequestView(
            id=row.id,
            type=row.type,
            brand=row.brand,
            status=row.status,
            received_via=row.received_via,
            jurisdiction=row.jurisdiction,
            deadline_rule=row.deadline_rule,
            received_at=utc(row.received_at),
            due_at=utc(row.due_at),
            legal_due_at=utc(row.legal_due_at),
            confirm_by=utc(row.confirm_by) if row.confirm_by else None,
            extended=row.extended_at is not None,
            closed_at=utc(row.closed_at) if row.closed_at else None,
            outcome=row.outcome,
            history=history,
            steps=steps,
            overdue=row.closed_at is None and utc(row.due_at) < self.clock(),
        )

    def brand_of(self, request_id: str) -> str:
        with self.store.read() as connection:
            brand = connection.scalar(
                select(rights_requests.c.brand).where(rights_requests.c.id == request_id)
            )
        if brand is None:
            raise NotFound(f"no request '{request_id}'", code="unknown_request")
        return str(brand)

    def package_expiry(self, request_id: str) -> dt.datetime | None:
        """When the request's access package stops being downloadable, if it has one now."""
        with self.store.read() as connection:
            expires = connection.scalar(
                select(request_packages.c.expires_at).where(
                    request_packages.c.request_id == request_id
                )
            )
        if expires is None or utc(expires) <= self.clock():
            return None
        return utc(expires)

    def package(self, request_id: str) -> bytes:
        """The access package (zip), while its link has not expired."""
        with self.store.read() as connection:
            row = request_row(connection, request_id)
            found = connection.execute(
                select(request_packages).where(request_packages.c.request_id == request_id)
            ).first()
        if found is None or utc(found.expires_at) <= self.clock() or row.key_wrapped is None:
            raise NotFound("this request has no package to download (now)", code="no_package")
        data_key = request_key(self.store.vault, row)
        return Vault.open_bytes(data_key, request_id, "package", bytes(found.package_sealed))

    def queue(
        self, *, include_closed: bool = False, overdue_only: bool = False
    ) -> list[RequestView]:
        """Requests by days left, overdue first (the staff's work list); ``overdue_only``:
        the open requests past their deadline."""
        with self.store.read() as connection:
            query = select(rights_requests.c.id).order_by(
                rights_requests.c.due_at, rights_requests.c.id
            )
            if not include_closed or overdue_only:
                query = query.where(rights_requests.c.status.in_([s.value for s in OPEN]))
            if overdue_only:
                query = query.where(rights_requests.c.due_at < self.clock())
            ids = list(connection.scalars(query))
        return [self.view(request_id) for request_id in ids]

    def remind(self) -> int:
        """Remind the privacy team of open requests due in 7, 3 and 1 days (one message per
        request and moment; after downtime only the most urgent goes). Returns how many."""
        now = self.clock()
        team = self.manifest.policy.dpo or self.manifest.policy.controller
        sent = 0
        with self.store.write() as connection:
            rows = connection.execute(
                select(
                    rights_requests.c.id,
                    rights_requests.c.type,
                    rights_requests.c.status,
                    rights_requests.c.due_at,
                    rights_requests.c.reminders_sent,
                ).where(rights_requests.c.status.in_([s.value for s in OPEN]))
            ).all()
            for row in rows:
                due = reminders_due(utc(row.due_at), now, frozenset(row.reminders_sent or ()))
                if not due:
                    continue
                days = due[-1]
                subject, body = texts.reminder(row.id, row.type, utc(row.due_at), days)
                self.outbox.enqueue(
                    connection,
                    Message(
                        to=team.email,
                        subject=subject,
                        body=body,
                        kind="staff_reminder",
                        sender=self.manifest.policy.controller.email,
                        request_id=row.id,
                    ),
                    now,
                )
                connection.execute(
                    update(rights_requests)
                    .where(rights_requests.c.id == row.id)
                    .values(reminders_sent=sorted({*(row.reminders_sent or ()), *due}))
                )
                record_event(
                    connection,
                    row.id,
                    now,
                    "reminder",
                    RequestStatus(row.status),
                    SYSTEM,
                    f"due in {days} day{'s' if days > 1 else ''}",
                )
                sent += 1
        return sent

    # -- the privacy team's decisions -----------------------------------------------------------

    def approve(self, request_id: str, actor: str) -> str:
        return self._move(request_id, "approve", actor, None)

    def reject(self, request_id: str, actor: str, reasons: str) -> str:
        """Refuse (Art. 12(4)): the person is told why and that they may complain."""
        if not reasons.strip():
            raise InvalidValue("reasons: the person must be told why (GDPR Art. 12(4))")
        return self._move(request_id, "reject", actor, printable(reasons.strip(), "reasons"))

    def extend(self, request_id: str, actor: str, reasons: str) -> dt.datetime:
        """Extend once, telling the person why before the first deadline (Art. 12(3))."""
        if not reasons.strip():
            raise InvalidValue("reasons: the person must be told why the answer takes longer")
        printable(reasons, "reasons")
        now = self.clock()
        with self.store.write() as connection:
            row = request_row(connection, request_id, for_update=True)
            self._allowed(RequestStatus(row.status), "extend")
            rule = RULES[row.deadline_rule]
            current = Deadlines(
                row.deadline_rule,
                utc(row.legal_due_at),
                utc(row.due_at),
                utc(row.confirm_by) if row.confirm_by else None,
            )
            refused = can_extend(rule, current, now, extended=row.extended_at is not None)
            if refused:
                raise InvalidInput(refused, code="extension_refused")
            later = extended(rule, current)
            connection.execute(
                update(rights_requests)
                .where(rights_requests.c.id == request_id)
                .values(
                    legal_due_at=later.legal_due_at,
                    due_at=later.due_at,
                    extended_at=now,
                    reminders_sent=[],
                )
            )
            record_event(
                connection,
                request_id,
                now,
                "extended",
                RequestStatus(row.status),
                actor,
                reasons.strip(),
            )
            subject, body = texts.extended(
                self.manifest, row.brand, request_id, later.due_at, reasons.strip()
            )
            self._send(
                connection, request_id, self._contact(row), "request_extended", subject, body, now
            )
            append_audit(
                connection,
                at=now,
                actor=audit_actor(actor),
                action="request.extended",
                target=request_id,
                details={"due_at": later.due_at},
            )
        self.outbox.deliver()
        return later.due_at

    def _move(self, request_id: str, action: str, actor: str, reasons: str | None) -> str:
        now = self.clock()
        with self.store.write() as connection:
            row = request_row(connection, request_id, for_update=True)
            status = self._allowed(RequestStatus(row.status), action)
            values: dict[str, Any] = {"status": status.value}
            if status is RequestStatus.REJECTED:
                values["closed_at"] = now
            connection.execute(
                update(rights_requests).where(rights_requests.c.id == request_id).values(**values)
            )
            done = action + ("d" if action.endswith("e") else "ed")
            record_event(connection, request_id, now, done, status, actor, reasons)
            if status is RequestStatus.REJECTED:
                subject, body = texts.rejected(self.manifest, row.brand, request_id, reasons or "")
                self._tell_rejected(connection, row, subject, body, now)
            append_audit(
                connection,
                at=now,
                actor=audit_actor(actor),
                action=f"request.{done}",
                target=request_id,
                details={"status": status.value},
            )
        self.outbox.deliver()
        return status.value

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
            ),
            now,
        )

    def _tell_rejected(
        self, connection: Connection, row: Any, subject: str, body: str, now: dt.datetime
    ) -> None:
        """Queue the refusal to the person, then destroy what made the request readable."""
        self._send(connection, row.id, self._contact(row), "request_rejected", subject, body, now)
        shred(connection, row.id)

    def _verify_link(self, request_id: str, code: str) -> str:
        return f"{self.base_url}/privacy/verify?request={request_id}&code={code}"

    def _status_link(self, request_id: str) -> str:
        return f"{self.base_url}/privacy/requests/{request_id}"


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
