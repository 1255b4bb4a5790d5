"""Charter's outbox: every message to a person or to staff goes through it.

A message is written to the ``outbox`` table in the same transaction as the decision to send it
(a request received, a code to verify), sealed under a key of its own, so that a crash between
that commit and the delivery loses nothing. ``deliver`` then sends what is due: over SMTP to
``CHARTER_SMTP_URL`` or, with none set, as ``.eml`` files in ``CHARTER_OUTBOX_DIR``. A delivered
message's row (and key) is deleted; a failed one is retried with growing waits (1, 2, 4 ...
minutes, at most 6 hours), its error kept without the message. Delivery is at least once: a
process killed between sending and deleting sends that message again after its lease.

SMTP URLs: ``smtp://host:port`` (plain, for a local relay), ``smtp+starttls://user:password@host:587``
and ``smtps://user:password@host:465``.

Erasure (Art. 17) reaches the outbox folder too: ``forget`` queues, behind the erasure's last
messages (its confirmation, the notices to recipients), an entry naming the person's identities
(sealed like a message). Its turn comes once every earlier message of that request has gone;
the folder's transport then deletes every ``.eml`` file naming the person in any of the forms
``charter forensics scan`` looks for, and the database's WAL is checkpointed
(``Store.checkpoint``), so that no old page keeps the rows just deleted. Mail sent over SMTP
has left Charter: the mail servers are outside systems, and ``forget`` deletes nothing there.
The folder stays a plain folder of readable mail for a developer: only an erased person's mail
goes, after their erasure is complete.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import ssl
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from sqlalchemy import Connection, delete, insert, select, update

from charter.domain.clock import Clock
from charter.domain.errors import InvalidValue
from charter.domain.forensics import Pattern
from charter.services.forensics import files_under, identity_patterns, scan_file
from charter.storage.engine import utc
from charter.storage.store import Store
from charter.storage.tables import outbox
from charter.storage.vault import Vault

_OWNER = "outbox"
_LEASE = dt.timedelta(minutes=5)
_MAX_WAIT = dt.timedelta(hours=6)
FORGET = "forget"
"""The kind of an outbox entry that is no message: forget an erased person's mail."""
_FORGET_WAIT = dt.timedelta(minutes=1)

logger = logging.getLogger("charter.outbox")


@dataclass(frozen=True, slots=True)
class Message:
    to: str
    subject: str
    body: str
    kind: str
    sender: str
    request_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def as_email(self, now: dt.datetime) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = self.to
        email["Subject"] = self.subject
        email["Date"] = format_datetime(now)
        email["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        email.set_content(self.body)
        # After the content: set_content clears every Content-* header (Content-Language).
        for name, value in self.headers.items():
            email[name] = value
        return email


SentHook = Callable[[Connection, int, dt.datetime], None]
"""Told, in the delivering transaction, that the outbox row ``id`` went at ``sent_at``."""


class Transport(Protocol):
    def send(self, email: EmailMessage) -> None: ...


@runtime_checkable
class Forgetting(Protocol):
    """A transport that keeps what it sent, and can delete what names a person."""

    def forget(self, wanted: Sequence[Pattern]) -> int: ...


class DirectoryTransport:
    """Writes each message as an ``.eml`` file, atomically (a reader never sees half a file)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def forget(self, wanted: Sequence[Pattern]) -> int:
        """Delete every file under the folder in which one of ``wanted`` occurs (an erased
        person's identities, in any form an ``.eml`` file may hold them); how many. A
        temporary file younger than a delivery's lease is a message being written now (it is
        still queued, and goes when written), so it is left alone."""
        if not wanted or not self.folder.is_dir():
            return 0
        deleted = 0
        writing = time.time() - _LEASE.total_seconds()
        for path in files_under(self.folder):
            try:
                if path.name.endswith(".tmp") and path.stat().st_mtime > writing:
                    continue
                named = next(scan_file(path, wanted, chunk_size=64 * 1024), None) is not None
                if named:
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:
                continue  # a concurrent forget (another process) took it
        return deleted

    def send(self, email: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(bytes(email))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, self.folder / f"{stamp}-{os.urandom(4).hex()}.eml")


class SmtpTransport:
    def __init__(self, url: str, timeout: float = 20.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
            raise InvalidValue(
                "CHARTER_SMTP_URL must look like smtp://host:port, smtp+starttls://user:pass@host:587"
                " or smtps://user:pass@host:465"
            )
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[parts.scheme]
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def send(self, email: EmailMessage) -> None:
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.scheme == "smtps":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.scheme == "smtp+starttls":
                client.starttls(context=context)
            if self.user is not None:
                client.login(self.user, self.password or "")
            client.send_message(email)


def transport_for(smtp_url: str | None, outbox_dir: Path) -> Transport:
    return SmtpTransport(smtp_url) if smtp_url else DirectoryTransport(outbox_dir)


class Outbox:
    def __init__(self, store: Store, transport: Transport, clock: Clock) -> None:
        self.store = store
        self.transport = transport
        self.clock = clock
        self._on_sent: dict[str, SentHook] = {}

    def enqueue(self, connection: Connection, message: Message, now: dt.datetime) -> int:
        """Queue ``message`` in the caller's transaction; it goes once that commits. Returns
        the outbox row's id, which a hook registered with ``on_sent`` is given on delivery."""
        data_key = Vault.new_data_key()
        queued = connection.execute(
            insert(outbox).values(
                created_at=now,
                kind=message.kind,
                request_id=message.request_id,
                key_wrapped=self.store.vault.wrap(_OWNER, data_key),
                message_sealed=Vault.seal(
                    data_key,
                    _OWNER,
                    "message",
                    {
                        "to": message.to,
                        "subject": message.subject,
                        "body": message.body,
                        "kind": message.kind,
                        "sender": message.sender,
                        "request_id": message.request_id,
                        "headers": message.headers,
                    },
                ),
                attempts=0,
                next_attempt_at=now,
            )
        )
        key = queued.inserted_primary_key
        assert key is not None  # an INSERT of one row
        return int(key[0])

    def on_sent(self, kind: str, hook: SentHook) -> None:
        """Call ``hook(connection, row_id, sent_at)`` whenever a message of ``kind`` is
        delivered, in the transaction that deletes its row: a record of what was sent (a prior
        notice, an Art. 14 notice) learns the time it really went, or nothing if it never did."""
        self._on_sent[kind] = hook

    def forget(
        self,
        connection: Connection,
        identities: Mapping[str, Sequence[str]],
        request_id: str,
        now: dt.datetime,
    ) -> None:
        """Queue, in the caller's transaction and behind the request's messages already queued,
        the forgetting of the mail that names these identities (see the module docstring)."""
        values = sorted({str(v) for found in identities.values() for v in found if v})
        data_key = Vault.new_data_key()
        connection.execute(
            insert(outbox).values(
                created_at=now,
                kind=FORGET,
                request_id=request_id,
                key_wrapped=self.store.vault.wrap(_OWNER, data_key),
                message_sealed=Vault.seal(data_key, _OWNER, FORGET, {"identities": values}),
                attempts=0,
                next_attempt_at=now,
            )
        )

    def deliver(self, limit: int = 100) -> int:
        """Send the messages that are due; returns how many went. Never raises for a message
        that fails: it is kept for a later try with its error."""
        sent = 0
        for row_id in self._due(limit):
            claimed = self._claim(row_id)
            if claimed is None:
                continue  # another process took it
            kind, fields, attempts = claimed
            if kind == FORGET:
                self._forget(row_id, fields)
                continue
            message = Message(**fields)
            sent_at = self.clock()
            try:
                self.transport.send(message.as_email(sent_at))
            except (OSError, smtplib.SMTPException) as error:
                # The type and SMTP code only: a server's message may name the recipient.
                code = getattr(error, "smtp_code", None)
                self._failed(row_id, attempts, type(error).__name__ + (f" {code}" if code else ""))
                continue
            with self.store.write() as connection:
                connection.execute(delete(outbox).where(outbox.c.id == row_id))
                hook = self._on_sent.get(kind)
                if hook is not None:
                    hook(connection, row_id, sent_at)
            sent += 1
        return sent

    def pending(self) -> int:
        with self.store.read() as connection:
            return len(connection.execute(select(outbox.c.id)).all())

    def _due(self, limit: int) -> list[int]:
        now = self.clock()
        with self.store.read() as connection:
            return list(
                connection.scalars(
                    select(outbox.c.id)
                    .where(outbox.c.next_attempt_at <= now)
                    .order_by(outbox.c.id)
                    .limit(limit)
                )
            )

    def _forget(self, row_id: int, fields: Mapping[str, Any]) -> None:
        request_id = fields.get("request_id")
        with self.store.write() as connection:
            earlier = connection.scalar(
                select(outbox.c.id)
                .where(
                    outbox.c.id < row_id,
                    outbox.c.request_id == request_id,
                    outbox.c.kind != FORGET,
                )
                .limit(1)
            )
            if earlier is not None:  # a message of the request is still to go: it goes first
                connection.execute(
                    update(outbox)
                    .where(outbox.c.id == row_id)
                    .values(next_attempt_at=self.clock() + _FORGET_WAIT)
                )
                return
        deleted = 0
        if isinstance(self.transport, Forgetting):
            deleted = self.transport.forget(identity_patterns(fields["identities"]))
        with self.store.write() as connection:
            connection.execute(delete(outbox).where(outbox.c.id == row_id))
        self.store.checkpoint()
        logger.info(
            "request %s: forgot %d sent message(s) of the erased person", request_id, deleted
        )

    def _claim(self, row_id: int) -> tuple[str, dict[str, Any], int] | None:
        """Take a lease on a due message (so that two processes do not both send it)."""
        now = self.clock()
        with self.store.write() as connection:
            row = connection.execute(select(outbox).where(outbox.c.id == row_id)).first()
            if row is None or utc(row.next_attempt_at) > now:
                return None
            connection.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(next_attempt_at=now + _LEASE, attempts=row.attempts + 1)
            )
        data_key = self.store.vault.unwrap(_OWNER, bytes(row.key_wrapped))
        if row.kind == FORGET:
            fields = Vault.open(data_key, _OWNER, FORGET, bytes(row.message_sealed))
            return FORGET, {**fields, "request_id": row.request_id}, int(row.attempts) + 1
        fields = Vault.open(data_key, _OWNER, "message", bytes(row.message_sealed))
        return str(row.kind), fields, int(row.attempts) + 1

    def _failed(self, row_id: int, attempts: int, error: str) -> None:
        wait = min(dt.timedelta(minutes=2 ** (attempts - 1)), _MAX_WAIT)
        with self.store.write() as connection:
            connection.execute(
                update(outbox)
                .where(outbox.c.id == row_id)
                .values(next_attempt_at=self.clock() + wait, last_error=error[:500])
            )
