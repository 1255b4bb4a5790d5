"""The privacy team's decisions on a rights request (approve, reject with reasons, extend once
with reasons) and the reminders of the deadlines they work to; the person is told each decision
that concerns them, in their language, with the right to complain (GDPR Art. 12(3)-(4))."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from charter.domain.deadlines import RULES, Deadlines, can_extend, extended, reminders_due
from charter.domain.errors import InvalidInput, InvalidValue
from charter.domain.requests import OPEN, RequestStatus
from charter.services import request_messages as texts
from charter.services.outbox import Message
from charter.services.request_records import (
    SYSTEM,
    RequestBase,
    audit_actor,
    record_event,
    request_row,
    request_texts,
)
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.tables import rights_requests


class RequestDecisions(RequestBase):
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
            t = request_texts(self.manifest, connection, row)
            subject, body = texts.extended(
                self.manifest, t, row.brand, request_id, later.due_at, reasons.strip()
            )
            self._send(
                connection,
                request_id,
                self._contact(row),
                "request_extended",
                t,
                subject,
                body,
                now,
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
                t = request_texts(self.manifest, connection, row)
                subject, body = texts.rejected(
                    self.manifest, t, row.brand, request_id, reasons or ""
                )
                self._tell_rejected(connection, row, t, subject, body, now)
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
