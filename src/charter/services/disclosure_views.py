"""The disclosures ledger as staff read it: a disclosure, its history of events and its
documents (``charter.services.disclosures`` builds them from the stored rows).

Apart from the service because the HTTP routes and the admin console render these shapes, and
the reading of one stored row into a view (times as aware UTC whatever the database session's
zone; the steps possible next) is the same for the ledger's list and for one disclosure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from charter.domain.disclosures import DisclosureKind, DisclosureStatus, next_statuses
from charter.storage.engine import utc


@dataclass(frozen=True, slots=True)
class DocumentView:
    id: str
    name: str
    size: int
    content_type: str | None
    reference: str | None
    sha256: str | None
    added_at: dt.datetime

    @property
    def uploaded(self) -> bool:
        return self.reference is None


@dataclass(frozen=True, slots=True)
class EventView:
    at: dt.datetime
    kind: str
    status: str
    actor: str
    note: str | None
    reasons: str | None
    documents: list[DocumentView]


@dataclass(frozen=True, slots=True)
class DisclosureView:
    id: str
    kind: str
    recipient: str
    recipient_name: str
    brand: str | None
    about_a_person: bool
    """Identities were named (the person may since have been erased)."""
    subject_id: str | None
    categories: list[str]
    scope: list[str] | None
    purposes: list[str]
    status: str
    legal_reference: str | None
    confidential: bool
    confidential_until: dt.datetime | None
    received_at: dt.datetime
    decided_at: dt.datetime | None
    disclosed_at: dt.datetime | None
    recorded_at: dt.datetime
    created_by: str
    next: list[str]
    history: list[EventView] = field(default_factory=list)

    @property
    def documents(self) -> list[DocumentView]:
        return [d for event in self.history for d in event.documents]


@dataclass(frozen=True, slots=True)
class Download:
    name: str
    content: bytes


def _at(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as aware UTC, whatever the database session's time zone."""
    return None if value is None else utc(value).astimezone(dt.UTC)


def disclosure_view(row: Any, history: list[EventView], named: bool) -> DisclosureView:
    kind = DisclosureKind(row.kind)
    return DisclosureView(
        id=row.id,
        kind=kind.value,
        recipient=row.recipient,
        recipient_name=row.recipient_name,
        brand=row.brand,
        about_a_person=named or row.subject_id is not None,
        subject_id=row.subject_id,
        categories=list(row.categories),
        scope=None if row.scope is None else list(row.scope),
        purposes=list(row.purposes),
        status=row.status,
        legal_reference=row.legal_reference,
        confidential=bool(row.confidential),
        confidential_until=_at(row.confidential_until),
        received_at=utc(row.received_at).astimezone(dt.UTC),
        decided_at=_at(row.decided_at),
        disclosed_at=_at(row.disclosed_at),
        recorded_at=utc(row.recorded_at).astimezone(dt.UTC),
        created_by=row.created_by,
        next=[s.value for s in next_statuses(kind, DisclosureStatus(row.status))],
        history=history,
    )
