"""The evidence kept with a disclosure: each event of its history with the note and reasons
staff wrote, and the documents of an authority's request or court order (uploads or references
to where they are kept), sealed under the disclosure's own key (``charter.services.disclosures``).

Apart from the ledger's service because this is the part that touches the vault: notes and
documents are evidence the company must keep for as long as the disclosure may be questioned
(GDPR Art. 17(3)(b) and (e)), so they are sealed under a key of the disclosure's own, which an
erasure of the person does not destroy; only the sizes and SHA-256 digests of uploads are kept
in clear, to show the evidence unchanged. Callers own the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from charter.domain.disclosures import DisclosureStatus
from charter.domain.errors import NotFound
from charter.services.disclosure_inputs import DocumentInput
from charter.services.disclosure_views import DocumentView, Download, EventView
from charter.storage.engine import utc
from charter.storage.tables import disclosure_documents, disclosure_events
from charter.storage.vault import Vault


def add_event(
    connection: Connection,
    disclosure_id: str,
    data_key: bytes,
    now: dt.datetime,
    kind: str,
    status: DisclosureStatus,
    actor: str,
    note: str | None,
    reasons: str | None,
    documents: Sequence[DocumentInput],
) -> None:
    """One event of the disclosure's history: its note and reasons sealed under the
    disclosure's key ``data_key``, and its documents (an upload's bytes sealed, its SHA-256 and
    size kept in clear for the evidence's integrity; a reference's place sealed)."""
    sealed = None
    if note or reasons:
        sealed = Vault.seal(data_key, disclosure_id, "note", {"note": note, "reasons": reasons})
    event_id = connection.execute(
        insert(disclosure_events)
        .values(
            disclosure_id=disclosure_id,
            at=now,
            kind=kind,
            status=status.value,
            actor=actor,
            note_sealed=sealed,
        )
        .returning(disclosure_events.c.id)
    ).scalar_one()
    for position, document in enumerate(documents):
        document_id = str(uuid.uuid4())
        meta = {
            "name": document.name,
            "reference": document.reference,
            "content_type": document.content_type,
        }
        content = document.content
        connection.execute(
            insert(disclosure_documents).values(
                id=document_id,
                disclosure_id=disclosure_id,
                event_id=event_id,
                position=position,
                added_at=now,
                size=len(content) if content is not None else 0,
                sha256=hashlib.sha256(content).hexdigest() if content is not None else None,
                meta_sealed=Vault.seal(data_key, disclosure_id, f"meta:{document_id}", meta),
                content_sealed=None
                if content is None
                else Vault.seal_bytes(data_key, disclosure_id, f"doc:{document_id}", content),
            )
        )


def read_history(connection: Connection, data_key: bytes, disclosure_id: str) -> list[EventView]:
    """The disclosure's events, oldest first, with their notes and documents opened."""
    documents: dict[int, list[DocumentView]] = {}
    for d in connection.execute(
        select(disclosure_documents)
        .where(disclosure_documents.c.disclosure_id == disclosure_id)
        .order_by(disclosure_documents.c.event_id, disclosure_documents.c.position)
    ):
        meta = Vault.open(data_key, disclosure_id, f"meta:{d.id}", bytes(d.meta_sealed))
        documents.setdefault(d.event_id, []).append(
            DocumentView(
                id=d.id,
                name=meta["name"],
                size=d.size,
                content_type=meta.get("content_type"),
                reference=meta.get("reference"),
                sha256=d.sha256,
                added_at=utc(d.added_at).astimezone(dt.UTC),
            )
        )
    history = []
    for e in connection.execute(
        select(disclosure_events)
        .where(disclosure_events.c.disclosure_id == disclosure_id)
        .order_by(disclosure_events.c.id)
    ):
        text: dict[str, Any] = {}
        if e.note_sealed is not None:
            text = Vault.open(data_key, disclosure_id, "note", bytes(e.note_sealed))
        history.append(
            EventView(
                at=utc(e.at).astimezone(dt.UTC),
                kind=e.kind,
                status=e.status,
                actor=e.actor,
                note=text.get("note"),
                reasons=text.get("reasons"),
                documents=documents.get(e.id, []),
            )
        )
    return history


def open_document(
    connection: Connection, data_key: bytes, disclosure_id: str, document_id: str
) -> Download:
    """An uploaded document of the disclosure, opened; 404 ``unknown_document``, or
    ``document_not_uploaded`` for a reference to where it is kept."""
    found = connection.execute(
        select(disclosure_documents).where(
            disclosure_documents.c.id == document_id,
            disclosure_documents.c.disclosure_id == disclosure_id,
        )
    ).first()
    if found is None:
        raise NotFound(f"no document '{document_id}' here", code="unknown_document")
    if found.content_sealed is None:
        raise NotFound(
            "this document is a reference to where it is kept; it has no upload",
            code="document_not_uploaded",
        )
    meta = Vault.open(data_key, disclosure_id, f"meta:{document_id}", bytes(found.meta_sealed))
    content = Vault.open_bytes(
        data_key, disclosure_id, f"doc:{document_id}", bytes(found.content_sealed)
    )
    return Download(str(meta["name"]), content)
