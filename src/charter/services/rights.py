"""Carrying out a verified rights request, as persisted steps that survive a crash.

When a request starts, its plan is written as rows of ``request_steps``, one per system and table
(one per system for an erasure, which runs inside one transaction per system), then the steps
run in order; each is marked done in its own transaction with its result (sealed under the
request's key) and a summary without personal data. A process that dies mid-request leaves the
remaining steps pending; ``run_pending`` (at start-up and on a timer in ``charter serve``)
takes them up again. Steps are idempotent: one that ran but was not marked done runs again
harmlessly (a second erasure finds nothing; a second collection reads the same rows).

A runner holds a request by a lease (``LEASE``, renewed at each step), so two workers never run
the same request; a lease whose owner died on this host is taken over at once.

What each type of request does, and which steps wait for staff: ``charter.services.rights_plan``.
How one step is carried out, the access package and the push of a portable copy:
``charter.services.rights_steps``. The connections to the external systems:
``charter.services.rights_systems``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

from charter.connectors.parquet import LakeEngine, engine_from_env
from charter.connectors.sql import SqlConnector
from charter.domain.clock import Clock
from charter.domain.errors import InvalidInput
from charter.domain.requests import RequestStatus, RequestType, transition
from charter.manifest.models import Manifest
from charter.services.consents import ConsentService
from charter.services.disclosure_report import recipients_disclosed_to
from charter.services.notices import NOTIFIED_TYPES, Notifier
from charter.services.outbox import Outbox
from charter.services.own_data import OwnData
from charter.services.preferences import PreferenceService
from charter.services.publication import (
    PublicationService,
    published_touchpoints,
    recorded_republications,
)
from charter.services.request_records import (
    audit_actor,
    record_event,
    request_key,
    request_row,
    shred,
)
from charter.services.rights_outcome import finish
from charter.services.rights_plan import (
    RECIPIENTS,
    PlannedStep,
    StepStatus,
    plan_steps,
    staff_note,
)
from charter.services.rights_steps import PACKAGE_LIFETIME, StepExecutor, open_field
from charter.services.rights_systems import (
    CONNECTOR_LIFETIME,
    EngineFactory,
    Systems,
    env_engine,
)
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.store import Store
from charter.storage.tables import (
    personal_values,
    request_packages,
    request_steps,
    rights_requests,
)
from charter.storage.vault import Vault

__all__ = [
    "CONNECTOR_LIFETIME",
    "LEASE",
    "PACKAGE_LIFETIME",
    "RECIPIENTS",
    "EngineFactory",
    "PlannedStep",
    "RightsRunner",
    "StepStatus",
    "env_engine",
]

LEASE = dt.timedelta(minutes=10)
"""How long a runner holds a request; a runner that dies frees it when this runs out."""


logger = logging.getLogger("charter.rights")


class RightsRunner:
    """Plans and runs the steps of verified requests (see the module docstring)."""

    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        outbox: Outbox,
        consents: ConsentService,
        preferences: PreferenceService,
        publication: PublicationService,
        public_base_url: str,
        engine_for: EngineFactory = env_engine,
        *,
        push_allow_private: bool = False,
        lake_engine: Callable[[], LakeEngine] = engine_from_env,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.outbox = outbox
        self.consents = consents
        self.preferences = preferences
        self.base_url = public_base_url.rstrip("/")
        self.systems = Systems(manifest, engine_for, lake_engine)
        self.own = OwnData(manifest, store, clock, consents, preferences)
        self.notifier = Notifier(manifest, store, outbox)
        self.publication = publication
        self.steps = StepExecutor(
            manifest,
            store,
            clock,
            self.systems,
            self.own,
            self.notifier,
            self.publication,
            push_allow_private=push_allow_private,
        )

    @property
    def push_allow_private(self) -> bool:
        """Whether a portable copy may be pushed to a private network (the push step reads it)."""
        return self.steps.push_allow_private

    @push_allow_private.setter
    def push_allow_private(self, allowed: bool) -> None:
        self.steps.push_allow_private = allowed

    def close(self) -> None:
        self.systems.close()

    def connector(self, system_key: str) -> SqlConnector | None:
        """The SQL system's connector, or ``None`` when its connection is not configured here
        (its environment variable unset)."""
        return self.systems.connector(system_key)

    # -- planning -------------------------------------------------------------------------------

    def plan(
        self,
        kind: RequestType,
        details: Mapping[str, Any],
        categories: Iterable[str] = (),
        disclosed_to: Iterable[str] = (),
        published: Iterable[str] = (),
        republished: Iterable[str] = (),
    ) -> list[PlannedStep]:
        """The steps of a request. ``categories``: the person's data categories in Charter,
        for choosing the recipients to tell of an erasure, correction or restriction, to which
        ``disclosed_to`` adds those the disclosures ledger says received the person's data.
        For an erasure, ``published``: the touchpoints with a ``publication`` the person
        submitted at (their republishers are told), ``republished``: the ids of the person's
        recorded republications (each is told)."""
        return plan_steps(
            self.manifest,
            kind,
            details,
            categories,
            disclosed_to,
            published,
            republished,
            connected=self.systems.connected,
            tables=lambda key: self.systems.sql(key).tables(),
            can_notify=self.notifier.can_notify,
        )

    # -- running --------------------------------------------------------------------------------

    def run_pending(self) -> list[str]:
        """Start every verified request and finish every one in progress; returns their ids.
        Called at start-up (a crash left some half done) and on a timer."""
        with self.store.read() as connection:
            ids = list(
                connection.scalars(
                    select(rights_requests.c.id)
                    .where(
                        rights_requests.c.status.in_(
                            [RequestStatus.VERIFIED.value, RequestStatus.IN_PROGRESS.value]
                        )
                    )
                    .order_by(rights_requests.c.due_at)
                )
            )
        for request_id in ids:
            try:
                self.run(request_id)
            except Exception:  # one request's failing system must not hold up the others
                logger.exception(
                    "request %s: a step failed; it is retried on the next run", request_id
                )
        return ids

    def run(self, request_id: str) -> str:
        """Carry the request as far as it can go now; returns its status. A request another
        runner holds (its lease has not run out) is left to it."""
        if not self._claim(request_id):
            return str(self._load(request_id).status)
        try:
            self._start(request_id)
            with self.store.read() as connection:
                steps = connection.execute(
                    select(request_steps)
                    .where(request_steps.c.request_id == request_id)
                    .order_by(request_steps.c.seq)
                ).all()
            for step in steps:
                if step.status == StepStatus.DONE:
                    continue
                if step.action == "manual":
                    self._await_staff(request_id, step)
                    return RequestStatus.IN_PROGRESS.value
                self._run_step(request_id, step)
            return self._finish(request_id)
        finally:
            self._release(request_id)

    def _claim(self, request_id: str) -> bool:
        """Take the request's lease: free, run out, or held by a dead process of this host."""
        now = self.clock()
        with self.store.write() as connection:
            owner = connection.scalar(
                select(rights_requests.c.lease_owner).where(rights_requests.c.id == request_id)
            )
            free = or_(rights_requests.c.lease_until.is_(None), rights_requests.c.lease_until < now)
            if owner is not None and _dead_here(owner):
                free = or_(free, rights_requests.c.lease_owner == owner)
            done = connection.execute(
                update(rights_requests)
                .where(rights_requests.c.id == request_id, free)
                .values(lease_until=now + LEASE, lease_owner=_owner())
            )
        return done.rowcount == 1

    def _release(self, request_id: str) -> None:
        with self.store.write() as connection:
            connection.execute(
                update(rights_requests)
                .where(
                    rights_requests.c.id == request_id, rights_requests.c.lease_owner == _owner()
                )
                .values(lease_until=None, lease_owner=None)
            )

    def confirm_manual_step(self, request_id: str, seq: int, actor: str, note: str) -> str:
        """Staff confirm they carried out a step by hand (a system with no connector)."""
        printable(note, "note")
        now = self.clock()
        with self.store.write() as connection:
            step = connection.execute(
                select(request_steps).where(
                    request_steps.c.request_id == request_id, request_steps.c.seq == seq
                )
            ).first()
            if step is None or step.action != "manual" or step.status == StepStatus.DONE:
                raise InvalidInput(
                    f"no manual step {seq} waiting in this request", code="no_such_step"
                )
            connection.execute(
                update(request_steps)
                .where(request_steps.c.id == step.id)
                .values(
                    status=StepStatus.DONE,
                    summary={"confirmed_by": actor, "note": note},
                    updated_at=now,
                )
            )
            record_event(
                connection,
                request_id,
                now,
                "step_done",
                RequestStatus.IN_PROGRESS,
                actor,
                f"{step.system}: {note}",
            )
            append_audit(
                connection,
                at=now,
                actor=audit_actor(actor),
                action="request.step_confirmed",
                target=request_id,
                details={"seq": seq, "system": step.system},
            )
        return self.run(request_id)

    def _start(self, request_id: str) -> None:
        """Write the plan of a verified (or just approved) request once, and start it."""
        now = self.clock()
        with self.store.write() as connection:
            row = request_row(connection, request_id)
            status = RequestStatus(row.status)
            if status not in (RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS):
                return
            planned = connection.scalar(
                select(request_steps.c.id).where(request_steps.c.request_id == request_id).limit(1)
            )
            if planned is None:
                kind = RequestType(row.type)
                details = self._open(row, "details").get("details", {})
                categories: list[str] = []
                if row.subject_id is not None:
                    categories = list(
                        connection.scalars(
                            select(personal_values.c.category)
                            .where(personal_values.c.subject_id == row.subject_id)
                            .distinct()
                        )
                    )
                disclosed_to: list[str] = []
                if kind in NOTIFIED_TYPES:
                    disclosed_to = recipients_disclosed_to(
                        self.manifest,
                        connection,
                        self.store.vault,
                        row.subject_id,
                        row.identity_hashes or (),
                    )
                published: list[str] = []
                republished: list[str] = []
                if kind is RequestType.ERASURE and row.subject_id is not None:
                    published = published_touchpoints(self.manifest, connection, row.subject_id)
                    republished = recorded_republications(connection, row.subject_id)
                planned_steps = self.plan(
                    kind, details, categories, disclosed_to, published, republished
                )
                for seq, step in enumerate(planned_steps):
                    connection.execute(
                        insert(request_steps).values(
                            request_id=request_id,
                            seq=seq,
                            system=step.system,
                            target=step.target,
                            action=step.action,
                            status=StepStatus.PENDING,
                            attempts=0,
                            updated_at=now,
                        )
                    )
            if status is RequestStatus.VERIFIED:
                moved = transition(status, "start")
                connection.execute(
                    update(rights_requests)
                    .where(rights_requests.c.id == request_id)
                    .values(status=moved.value)
                )
                record_event(connection, request_id, now, "started", moved, "charter", None)

    def _run_step(self, request_id: str, step: Any) -> None:
        with self.store.write() as connection:
            connection.execute(
                update(request_steps)
                .where(request_steps.c.id == step.id)
                .values(attempts=step.attempts + 1)
            )
            # Each step renews the lease, so a long request is never taken for abandoned.
            connection.execute(
                update(rights_requests)
                .where(rights_requests.c.id == request_id)
                .values(lease_until=self.clock() + LEASE)
            )
            row = request_row(connection, request_id)
        try:
            result, summary = self.steps.execute(row, step)
        except Exception as error:
            # Kept pending for the next run; the error (no personal data: type and text of a
            # database or connection error) is shown to staff.
            with self.store.write() as connection:
                connection.execute(
                    update(request_steps)
                    .where(request_steps.c.id == step.id)
                    .values(
                        error=f"{type(error).__name__}: {error}"[:1000], updated_at=self.clock()
                    )
                )
            raise
        now = self.clock()
        with self.store.write() as connection:
            sealed = None
            if result is not None:
                sealed = Vault.seal(self._key(row), request_id, f"step:{step.seq}", result)
            connection.execute(
                update(request_steps)
                .where(request_steps.c.id == step.id)
                .values(
                    status=StepStatus.DONE,
                    result_sealed=sealed,
                    summary=summary,
                    error=None,
                    updated_at=now,
                )
            )
            record_event(
                connection,
                request_id,
                now,
                "step_done",
                RequestStatus.IN_PROGRESS,
                "charter",
                f"{step.action} {step.system}{'.' + step.target if step.target else ''}",
            )

    # -- finishing ------------------------------------------------------------------------------

    def _finish(self, request_id: str) -> str:
        """All steps done: close the request (``charter.services.rights_outcome``)."""
        return finish(
            self.manifest, self.store, self.outbox, self.base_url, request_id, self.clock()
        )

    def expire_packages(self) -> int:
        """Delete access packages whose link expired, and the key of their closed request."""
        now = self.clock()
        with self.store.write() as connection:
            expired = list(
                connection.scalars(
                    select(request_packages.c.request_id).where(
                        request_packages.c.expires_at <= now
                    )
                )
            )
            for request_id in expired:
                connection.execute(
                    delete(request_packages).where(request_packages.c.request_id == request_id)
                )
                shred(connection, request_id)
        if expired:
            self.store.checkpoint()  # no old page image keeps the packages or their keys
        return len(expired)

    # -- helpers --------------------------------------------------------------------------------

    def _await_staff(self, request_id: str, step: Any) -> None:
        if step.status == StepStatus.AWAITING_STAFF:
            return
        now = self.clock()
        with self.store.write() as connection:
            connection.execute(
                update(request_steps)
                .where(request_steps.c.id == step.id)
                .values(status=StepStatus.AWAITING_STAFF, updated_at=now)
            )
            note = staff_note(self.manifest, step, self.systems.connected)
            record_event(
                connection,
                request_id,
                now,
                "awaiting_staff",
                RequestStatus.IN_PROGRESS,
                "charter",
                note,
            )

    def _load(self, request_id: str) -> Any:
        with self.store.read() as connection:
            return request_row(connection, request_id)

    def _key(self, row: Any) -> bytes:
        return request_key(self.store.vault, row)

    def _open(self, row: Any, label: str) -> Any:
        return open_field(self.store.vault, row, label)


def _owner() -> str:
    """This process, as a lease names it (asked each time: a forked worker has its own pid)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(owner: str) -> bool:
    """Whether a lease's owner was a process of this host that no longer runs."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False
