"""The audit log as a use case: record an event, check the chain, take an anchor.

What is recorded (always in the same transaction as the change, by the service that makes it,
through ``charter.storage.audit.append_audit``): API tokens created and revoked; staff accounts
created and disabled; staff logins that succeeded or failed, and accounts locked; rights requests
filed, verified, approved, extended, rejected, their manual steps confirmed, and completed. Events
name ids, roles, statuses and counts, never e-mails, names, IP addresses or tokens.

``verify`` reads the log in batches of ``BATCH`` rows, each batch in its own short read (no
snapshot held open on SQLite's WAL while a long log is checked), and checks it against the anchors
given and the head the database records, which catches a log cut back without its head.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from charter.domain.audit import Anchor, AuditRow, Finding, verify
from charter.domain.clock import Clock
from charter.storage.audit import append_audit, head, last_seq, read_audit
from charter.storage.store import Store

BATCH = 2000
"""Rows per read while streaming the log."""

Progress = Callable[[int], None]
"""Called with the number of rows read so far, after each batch and once at the end."""


class _Stream:
    """The log from row 1 up to ``last``, read afresh by each ``iter()`` (so that ``verify`` can
    search the rows before a broken link without holding them all)."""

    def __init__(self, store: Store, last: int, progress: Progress | None) -> None:
        self.store = store
        self.last = last
        self.progress = progress
        self._reported = False

    def __iter__(self) -> Iterator[AuditRow]:
        report, self._reported = (self.progress if not self._reported else None), True
        after, count = 0, 0
        while True:
            with self.store.read() as connection:
                rows = read_audit(connection, after, BATCH)
            # Rows appended after the check began are left for the next check.
            rows = [row for row in rows if row.seq <= self.last]
            if not rows:
                break
            count += len(rows)
            if report is not None:
                report(count)
            yield from rows
            after = rows[-1].seq
        if report is not None:
            report(count)


class AuditService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def record(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one event in a transaction of its own (for callers without one); its seq."""
        with self.store.write() as connection:
            return append_audit(
                connection,
                at=self.clock(),
                actor=actor,
                action=action,
                target=target,
                details=details,
            )

    def anchor(self) -> Anchor:
        """The head now (last seq and hash), taken at the clock's time to the second."""
        with self.store.read() as connection:
            seq, digest = head(connection)
        return Anchor(seq, digest, self.clock().astimezone(dt.UTC).replace(microsecond=0))

    def size(self) -> int:
        """How many rows the log has (by its head)."""
        with self.store.read() as connection:
            return head(connection)[0]

    def rows(self, after: int = 0) -> Iterator[AuditRow]:
        """The rows with seq above ``after``, in order, read in batches."""
        while True:
            with self.store.read() as connection:
                batch = read_audit(connection, after, BATCH)
            if not batch:
                return
            yield from batch
            after = batch[-1].seq

    def verify(
        self, anchors: Iterable[Anchor] = (), progress: Progress | None = None
    ) -> Finding | None:
        """The first problem of the log (``charter.domain.audit.verify``), or ``None``; checked
        against ``anchors`` and the database's own head. Rows appended while it runs are not
        checked; the head read first covers every row up to it."""
        with self.store.read() as connection:
            seq, digest = head(connection)
            # Every row past the head is checked too: a head set back must not hide rows.
            last = last_seq(connection)
        own = Anchor(seq, digest)
        return verify(_Stream(self.store, max(seq, last), progress), [*anchors, own])
