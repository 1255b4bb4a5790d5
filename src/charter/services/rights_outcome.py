"""Closing a rights request whose steps are all done.

The outcome is recorded on the request (the steps' summaries: no personal data), the person is
told what was done (with the link to their package for an access or portability request), and
the request's key is destroyed now, or for an access request when its package expires. After an
erasure the outbox also forgets every identity the request named or Charter's own step deleted,
behind the confirmation it has just queued (Art. 17).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, or_, select, update

from charter.domain.requests import RequestStatus, RequestType, transition
from charter.manifest.models import IdentityKind, Manifest
from charter.services import request_messages as texts
from charter.services.mail_language import content_language
from charter.services.mail_texts import MailTexts
from charter.services.outbox import Message, Outbox
from charter.services.own_data import CHARTER
from charter.services.publication import PUBLICATION
from charter.services.request_records import (
    record_event,
    request_key,
    request_row,
    request_texts,
    shred,
)
from charter.services.rights_steps import open_field
from charter.services.values import normalise_identity
from charter.storage.audit import append_audit
from charter.storage.store import Store
from charter.storage.tables import request_steps, rights_requests
from charter.storage.vault import Vault


def finish(
    manifest: Manifest,
    store: Store,
    outbox: Outbox,
    base_url: str,
    request_id: str,
    now: dt.datetime,
    release: Callable[[Connection], None] = lambda _connection: None,
    *,
    write: Callable[[], AbstractContextManager[Connection]] | None = None,
) -> str:
    """All steps done: record the outcome (no personal data), tell the person, and close
    (the request's key is destroyed now, or for an access request when its package expires).
    ``release``: what else to do in the same transaction (the runner frees its lease);
    ``write``: the transaction to do it in (the runner's, on its connection), by default
    ``store.write()``."""
    with (write or store.write)() as connection:
        release(connection)
        row = request_row(connection, request_id)
        if RequestStatus(row.status) is not RequestStatus.IN_PROGRESS:
            return str(row.status)
        steps = connection.execute(
            select(
                request_steps.c.system,
                request_steps.c.target,
                request_steps.c.action,
                request_steps.c.summary,
            )
            .where(request_steps.c.request_id == request_id)
            .order_by(request_steps.c.seq)
        ).all()
        outcome = {
            "steps": [
                {
                    "system": s.system,
                    "target": s.target,
                    "action": s.action,
                    **(s.summary or {}),
                }
                for s in steps
            ]
        }
        status = transition(RequestStatus.IN_PROGRESS, "complete")
        kind = RequestType(row.type)
        connection.execute(
            update(rights_requests)
            .where(rights_requests.c.id == request_id)
            .values(status=status.value, closed_at=now, outcome=outcome)
        )
        record_event(connection, request_id, now, "completed", status, "charter", None)
        link = None
        if kind in (RequestType.ACCESS, RequestType.PORTABILITY):
            link = f"{base_url}/privacy/requests/{request_id}"
        t = request_texts(manifest, connection, row)
        subject, body = texts.completed(
            manifest, t, row.brand, request_id, _summary(t, outcome), link
        )
        outbox.enqueue(
            connection,
            Message(
                to=str(open_field(store.vault, row, "contact")),
                subject=subject,
                body=body,
                kind="request_completed",
                sender=manifest.policy.controller.email,
                request_id=request_id,
                headers=content_language(t),
            ),
            now,
        )
        if kind is RequestType.ERASURE:
            # Behind the confirmation just queued: the mail naming the person goes too.
            outbox.forget(
                connection, _erased(manifest, store.vault, connection, row), request_id, now
            )
        if link is None:
            shred(connection, request_id)
        append_audit(
            connection,
            at=now,
            actor="system",
            action="request.completed",
            target=request_id,
            details={"type": kind.value, "steps": len(steps)},
        )
    # The messages (to the person, to recipients) go with the worker's outbox round, which
    # follows the requests' round at once: a request's run does not wait on the mail server.
    return status.value


def _erased(
    manifest: Manifest, vault: Vault, connection: Connection, row: Any
) -> dict[str, list[str]]:
    """Every identity an erasure request named or found in Charter: those given (as given
    and normalised), the contact address, and those Charter's own step deleted (its
    result)."""
    region = manifest.policy.default_phone_region
    found: dict[str, set[str]] = {"email": {str(open_field(vault, row, "contact"))}}
    for kind, value in open_field(vault, row, "details").get("identities", {}).items():
        if value is not None:  # checked when the request was filed
            normalised = normalise_identity(IdentityKind(kind), value, region)
            found.setdefault(kind, set()).update({str(value), normalised})
    for step in connection.execute(
        select(request_steps.c.seq, request_steps.c.result_sealed).where(
            request_steps.c.request_id == row.id,
            or_(
                (request_steps.c.system == CHARTER) & (request_steps.c.action == "erase"),
                # the names and addresses of posts told to republishers
                request_steps.c.system == PUBLICATION,
            ),
            request_steps.c.result_sealed.is_not(None),
        )
    ):
        result = Vault.open(
            request_key(vault, row), row.id, f"step:{step.seq}", bytes(step.result_sealed)
        )
        for kind, values in (result or {}).get("identities", {}).items():
            found.setdefault(kind, set()).update(values)
    return {kind: sorted(values) for kind, values in found.items()}


def _summary(t: MailTexts, outcome: Mapping[str, Any]) -> str:
    """What was done, step by step, in the mail's language; the steps' own facts (counts,
    actions, tables) keep their technical names."""
    lines = []
    for step in outcome["steps"]:
        where = (
            t("request.summary.our_records")
            if step["system"] == CHARTER
            else f"{step['system']}{'.' + step['target'] if step.get('target') else ''}"
        )
        facts = ", ".join(
            f"{k.replace('_', ' ')}: {v}"
            for k, v in step.items()
            if k not in ("system", "target", "action") and not isinstance(v, (list, dict))
        )
        lines.append(
            t(
                "request.summary.step",
                action=step["action"],
                where=where,
                facts=f" ({facts})" if facts else "",
            )
        )
        for kept in step.get("kept", []) or []:
            lines.append(
                t(
                    "request.summary.kept",
                    category=kept["category"],
                    hold=kept["hold"],
                    until=kept["until"],
                    law=kept["law"],
                )
            )
        for table in step.get("tables", []) or []:
            if table.get("hold"):
                lines.append(
                    t(
                        "request.summary.kept_in",
                        table=table["table"],
                        columns=", ".join(table["columns_kept"]),
                        hold=table["hold"],
                    )
                )
    return t("request.summary.heading") + "\n" + "\n".join(lines)
