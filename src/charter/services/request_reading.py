"""Reading rights requests: a request's view and history, the staff's queue, the person's
access token and their package (the person's own request only; staff see all)."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from charter.domain.errors import NotFound, Unauthorized
from charter.domain.requests import OPEN
from charter.services.request_records import RequestBase, digest, request_key, request_row
from charter.storage.engine import utc
from charter.storage.tables import request_events, request_packages, request_steps, rights_requests
from charter.storage.vault import Vault


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


class RequestReading(RequestBase):
    # -- reading ------------------------------------------------------------------------------

    def authorise_person(self, request_id: str, token: str | None) -> None:
        """The person's access token opens their own request only."""
        if not token:
            raise Unauthorized("the request's access token is required")
        with self.store.read() as connection:
            stored = connection.scalar(
                select(rights_requests.c.token_hash).where(rights_requests.c.id == request_id)
            )
        if stored is None or not secrets.compare_digest(stored, digest("token", token)):
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

    def filed_as(self, request_id: str) -> tuple[str, str | None]:
        """The request's brand and the language it was filed in (None when none was given)."""
        with self.store.read() as connection:
            row = connection.execute(
                select(rights_requests.c.brand, rights_requests.c.language).where(
                    rights_requests.c.id == request_id
                )
            ).first()
        if row is None:
            raise NotFound(f"no request '{request_id}'", code="unknown_request")
        return str(row.brand), row.language

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
