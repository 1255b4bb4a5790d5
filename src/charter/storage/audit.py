"""The audit chain in the database: appending inside the caller's transaction, reading back.

Appends are serialised by ``audit_head`` (one row: the last seq and hash). Each append locks it
(``SELECT ... FOR UPDATE`` on PostgreSQL; on SQLite every write transaction already holds the
database's one write lock, from ``BEGIN IMMEDIATE``), inserts the next row linked to the head,
and moves the head, all in the caller's transaction: two transactions never take the same seq
or link to the same row, and a rolled-back change rolls back its audit row and its seq too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    Text,
    cast,
    func,
    insert,
    select,
    type_coerce,
    update,
)

from charter.domain.audit import AuditEntry, AuditRow, chain_hash, jsonable
from charter.storage.engine import utc
from charter.storage.tables import audit_events, audit_head

HEAD_ID = 1


class AuditHeadMissing(RuntimeError):
    """The ``audit_head`` row is gone: the schema is older than revision 0007, or tampered."""


def head(connection: Connection, *, for_update: bool = False) -> tuple[int, str]:
    """The last seq and hash (``0`` and 64 zeros for an empty log)."""
    query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ID)
    if for_update and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).one_or_none()
    if row is None:
        raise AuditHeadMissing("the audit log has no head row: run `charter db upgrade`")
    return int(row.seq), str(row.hash)


def last_seq(connection: Connection) -> int:
    """The highest seq stored (0 for an empty log), whatever the head says."""
    return int(connection.scalar(select(func.max(audit_events.c.seq))) or 0)


def append_audit(
    connection: Connection,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    target: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> int:
    """Append one event to the chain in the caller's (write) transaction; its seq.

    Call it last in the transaction: on PostgreSQL the head stays locked until the commit, so
    work after it would hold up every other auditing writer, and a row lock taken after it (in
    one transaction) and before it (in another) could deadlock. ``details`` must be JSON and
    hold no personal data (ids, keyed hashes, counts, roles).
    """
    seq, prev_hash = head(connection, for_update=True)
    entry = AuditEntry(seq + 1, at.astimezone(dt.UTC), actor, action, target, jsonable(details))
    digest = chain_hash(prev_hash, entry)
    connection.execute(
        insert(audit_events).values(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            details=entry.details,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    connection.execute(
        update(audit_head).where(audit_head.c.id == HEAD_ID).values(seq=entry.seq, hash=digest)
    )
    return entry.seq


def read_audit(connection: Connection, after: int, limit: int) -> list[AuditRow]:
    """Up to ``limit`` rows with seq above ``after``, in seq order, read so that a tampered row
    (a time that is not a time, details that are not JSON) comes back as a row that fails its
    check rather than as an error."""
    sqlite = connection.dialect.name == "sqlite"
    # SQLite keeps whatever text was written; read it raw and parse it here.
    at = type_coerce(audit_events.c.at, String) if sqlite else audit_events.c.at
    details = (
        type_coerce(audit_events.c.details, Text) if sqlite else cast(audit_events.c.details, Text)
    )
    result = connection.execute(
        select(
            audit_events.c.seq,
            at.label("at"),
            audit_events.c.actor,
            audit_events.c.action,
            audit_events.c.target,
            details.label("details"),
            audit_events.c.prev_hash,
            audit_events.c.hash,
        )
        .where(audit_events.c.seq > after)
        .order_by(audit_events.c.seq)
        .limit(limit)
    )
    return [_row(record) for record in result]


def _row(record: Any) -> AuditRow:
    unreadable = False
    moment = record.at
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            moment = None
    if not isinstance(moment, dt.datetime):
        unreadable, moment = True, dt.datetime.fromtimestamp(0, dt.UTC)
    try:
        details = json.loads(record.details)
    except (TypeError, ValueError):
        details = record.details  # not JSON: hashes as the raw text, so the row fails its check
    entry = AuditEntry(
        int(record.seq),
        utc(moment),
        str(record.actor),
        str(record.action),
        None if record.target is None else str(record.target),
        details,
    )
    return AuditRow(entry, str(record.prev_hash), str(record.hash), unreadable)
