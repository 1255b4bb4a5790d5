"""Telling the supervisory authority of a breach (GDPR Art. 33): the notice in numbered phases
(Art. 33(4)), the first after 72 hours only with the reasons for the delay, and the privacy
team's reminders at 48, 24 and 6 hours left. The notice is in English, the record's language."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update

from charter.domain import breaches as rules
from charter.domain.breaches import Risk
from charter.domain.errors import InvalidInput, InvalidValue
from charter.services import breach_notices as texts
from charter.services.breach_records import SYSTEM, BreachBase, breach_event, breach_row, stripped
from charter.services.outbox import Message
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.tables import breach_events, breaches


@dataclass(frozen=True)
class AuthorityNotice:
    phase: int
    submitted_at: dt.datetime
    late: bool
    text: str


class BreachAuthority(BreachBase):
    # -- the authority --------------------------------------------------------------------------

    def authority_notice(self, breach_id: str, phase: int | None = None) -> str:
        """The text of a phase: as submitted when it was, else the draft of the next one."""
        view = self.view(breach_id)
        if phase is not None and not 1 <= phase <= view.phases + 1:
            raise InvalidValue(f"phase: between 1 and {view.phases + 1}")
        if phase is not None and phase <= view.phases:
            with self.store.read() as connection:
                details = connection.scalar(
                    select(breach_events.c.details).where(
                        breach_events.c.breach_id == breach_id,
                        breach_events.c.kind == "authority_notice",
                        breach_events.c.phase == phase,
                    )
                )
            return str((details or {}).get("text", ""))
        return texts.authority_notice(
            self.manifest,
            self.facts(view),
            phase=view.phases + 1,
            earlier=self._phases(breach_id),
        )

    def _phases(self, breach_id: str) -> list[tuple[int, dt.datetime]]:
        with self.store.read() as connection:
            return [
                (int(e.phase), utc(dt.datetime.fromisoformat(e.details["submitted_at"])))
                for e in connection.execute(
                    select(breach_events.c.phase, breach_events.c.details)
                    .where(
                        breach_events.c.breach_id == breach_id,
                        breach_events.c.kind == "authority_notice",
                    )
                    .order_by(breach_events.c.phase)
                )
            ]

    def notify_authority(
        self,
        breach_id: str,
        actor: str,
        *,
        phase: int | None = None,
        submitted_at: dt.datetime | None = None,
        delay_reasons: str = "",
        reference: str | None = None,
        additional: str | None = None,
    ) -> AuthorityNotice:
        """Record a phase of the authority notice as submitted (Art. 33(1), (4)) with the text
        sent; refused when the phase is out of order, the time impossible, or a first notice
        after 72 hours gives no reasons for the delay."""
        now = self.clock()
        submitted = submitted_at or now
        if submitted.utcoffset() is None:
            raise InvalidValue("submitted_at: give the time zone (for example 'Z' for UTC)")
        for name, value in (
            ("delay_reasons", delay_reasons),
            ("reference", reference),
            ("additional", additional),
        ):
            if value is not None:
                printable(value, name)
        view = self.view(breach_id)
        number = view.phases + 1 if phase is None else phase
        refused = rules.authority_notice_refusal(
            aware_at=view.aware_at,
            submitted_at=submitted,
            now=now,
            phase=number,
            last_phase=view.phases,
            delay_reasons=delay_reasons,
        )
        if refused:
            code = "delay_reasons_required" if refused.startswith("delay_reasons") else None
            raise InvalidInput(refused, code=code or "invalid_value")
        late = number == 1 and rules.is_late(view.aware_at, submitted)
        reasons = delay_reasons.strip() if late else None
        text = texts.authority_notice(
            self.manifest,
            self.facts(view),
            phase=number,
            earlier=self._phases(breach_id),
            submitted_at=submitted,
            delay_reasons=reasons,
            additional=stripped(additional),
        )
        with self.store.write() as connection:
            row = breach_row(connection, breach_id, for_update=True)
            last = connection.scalar(
                select(func.max(breach_events.c.phase)).where(
                    breach_events.c.breach_id == breach_id,
                    breach_events.c.kind == "authority_notice",
                )
            )
            if (last or 0) != view.phases:  # another phase was recorded meanwhile
                raise InvalidValue(f"phase: the next phase is {(last or 0) + 1}")
            values: dict[str, Any] = {}
            if number == 1:
                values = {
                    "authority_notified_at": submitted.astimezone(dt.UTC),
                    "authority_reasons": reasons,
                    "status": self._status(row, authority_notified=True).value,
                }
                connection.execute(
                    update(breaches).where(breaches.c.id == breach_id).values(**values)
                )
            connection.execute(
                insert(breach_events).values(
                    breach_id=breach_id,
                    at=now,
                    kind="authority_notice",
                    actor=actor,
                    note=(f"phase {number}" + (", late with reasons" if late else ""))
                    + (f"; authority reference {reference}" if reference else ""),
                    phase=number,
                    details={
                        "submitted_at": submitted.astimezone(dt.UTC).isoformat(),
                        "late": late,
                        "reference": reference,
                        "text": text,
                    },
                )
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="breach.authority_notified",
                target=breach_id,
                details={"phase": number, "late": late},
            )
        return AuthorityNotice(number, submitted.astimezone(dt.UTC), late, text)

    # -- reminders ------------------------------------------------------------------------------

    def remind(self) -> int:
        """Mail the privacy team (the DPO, else the controller's address) at 48, 24 and 6 hours
        left for each authority notice still awaited, once each; after downtime only the most
        urgent goes. Returns how many messages were queued."""
        now = self.clock()
        team = self.manifest.policy.dpo or self.manifest.policy.controller
        sent = 0
        with self.store.write() as connection:
            rows = connection.execute(
                select(
                    breaches.c.id,
                    breaches.c.title,
                    breaches.c.aware_at,
                    breaches.c.reminders_sent,
                ).where(
                    breaches.c.risk != Risk.NONE.value, breaches.c.authority_notified_at.is_(None)
                )
            ).all()
            for row in rows:
                due_at = rules.notice_due(utc(row.aware_at))
                already = frozenset(row.reminders_sent or ())
                due = rules.reminders_due(due_at, now, already)
                if not due:
                    continue
                hours = due[-1]
                left = rules.hours_left(utc(row.aware_at), now)
                self.outbox.enqueue(
                    connection,
                    Message(
                        to=team.email,
                        subject=f"Breach {row.id}: the authority notice is due in {left} hours",
                        body=(
                            f"The breach '{row.title}' ({row.id}) must be notified to the "
                            "supervisory authority within 72 hours of awareness (GDPR Art. "
                            f"33(1)): by {due_at.strftime('%Y-%m-%d %H:%M')} UTC, {left} hours "
                            "from now. A later notice must give the reasons for the delay.\n\n"
                            "The draft is on the breach's page of the staff console "
                            f"(/admin/breaches/{row.id}).\n"
                        ),
                        kind="breach_reminder",
                        sender=self.manifest.policy.controller.email,
                    ),
                    now,
                )
                connection.execute(
                    update(breaches)
                    .where(breaches.c.id == row.id)
                    .values(reminders_sent=sorted(already | set(due)))
                )
                breach_event(connection, row.id, now, "reminder", SYSTEM, f"{hours} hours left")
                sent += 1
            if sent:
                append_audit(
                    connection,
                    at=now,
                    actor="system",
                    action="breach.reminders_sent",
                    details={"messages": sent},
                )
        return sent
