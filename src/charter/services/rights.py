"""Carrying out a verified rights request, as persisted steps that survive a crash.

When a request starts, its plan is written as rows of ``request_steps``, one per system and table
(one per system for an erasure, which runs inside one transaction per system), then the steps
run in order; each is marked done with its result (sealed under the request's key), a summary
without personal data and a ``step_done`` event, in one transaction that also holds the step's
own writes to Charter's store (its erasure there, the package, a queued notice), so that these
and their record commit together. A process that dies mid-request leaves the remaining steps
pending; ``run_pending`` (at start-up and on a timer in ``charter serve``) takes them up again.
Steps are idempotent: one that ran but was not marked done runs again harmlessly (a second
erasure finds nothing; a second collection reads the same rows).

Each transaction to the store is a round trip or more to a PostgreSQL server, so a run opens
few: the transaction recording a step done also readies the next (records its attempt when it
acts outside the store, reads the person's identities and the keys found before, once per run),
and the recipients told by e-mail (Art. 19) have their notices queued and recorded in one
transaction, each still its own step with its own event and outbox message.

A runner holds a request by a lease (``LEASE``, renewed with a step's records once
``RENEW_AFTER`` of it has run), so two workers never run the same request; a lease whose owner
died on this host is taken over at once.

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

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

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
from charter.services.rights_steps import (
    PACKAGE_LIFETIME,
    RunState,
    StepExecutor,
    Writer,
    open_field,
)
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
    request_events,
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

RENEW_AFTER = dt.timedelta(minutes=1)
"""How much of the lease may run before a step renews it: a step may take ``LEASE`` less this
before another runner could take the request."""


logger = logging.getLogger("charter.rights")

_MARK_DONE = (
    update(request_steps)
    .where(request_steps.c.id == bindparam("step_id"))
    .values(
        status=StepStatus.DONE,
        attempts=bindparam("new_attempts"),
        result_sealed=bindparam("sealed"),
        summary=bindparam("new_summary"),
        error=None,
    )
)
"""Records steps done, one parameter set per step (sent at once: ``executemany``)."""


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
        with self.store.session() as write:
            lease_until = self._claim(request_id, write)
            if lease_until is None:
                return str(self._load(request_id).status)
            released = False
            try:
                state, pending = self._start(request_id, lease_until, write)
                while pending:
                    step = pending[0]
                    if step.action == "manual":
                        self._await_staff(state, step)
                        return RequestStatus.IN_PROGRESS.value
                    batch = 1
                    if self.steps.batched(step):
                        while batch < len(pending) and self.steps.batched(pending[batch]):
                            batch += 1
                    following = pending[batch] if batch < len(pending) else None
                    self._run_steps(state, pending[:batch], following)
                    pending = pending[batch:]
                finished = self._finish(state)
                released = True  # in the transaction that closed the request
                return finished
            finally:
                if not released:
                    self._release(request_id, write)

    def _claim(self, request_id: str, write: Writer) -> dt.datetime | None:
        """Take the request's lease: free, run out, or held by a dead process of this host;
        returns when it runs out, or ``None`` when another runner holds it."""
        now = self.clock()
        until = now + LEASE
        free = or_(rights_requests.c.lease_until.is_(None), rights_requests.c.lease_until < now)
        with write() as connection:
            taken = connection.execute(
                update(rights_requests)
                .where(rights_requests.c.id == request_id, free)
                .values(lease_until=until, lease_owner=_owner())
            )
            if taken.rowcount == 1:
                return until
            # Only when the lease is held: its owner may be a process of this host that died.
            owner = connection.scalar(
                select(rights_requests.c.lease_owner).where(rights_requests.c.id == request_id)
            )
            if owner is None or not _dead_here(owner):
                return None
            taken = connection.execute(
                update(rights_requests)
                .where(rights_requests.c.id == request_id, rights_requests.c.lease_owner == owner)
                .values(lease_until=until, lease_owner=_owner())
            )
        return until if taken.rowcount == 1 else None

    def _release(self, request_id: str, write: Writer) -> None:
        with write() as connection:
            _free(connection, request_id)

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

    def _start(
        self, request_id: str, lease_until: dt.datetime, write: Writer
    ) -> tuple[RunState, list[Any]]:
        """Write the plan of a verified (or just approved) request once, and start it; returns
        the run's state and the steps not done yet, in order (the first one readied)."""
        now = self.clock()
        with write() as connection:
            row = request_row(connection, request_id)
            status = RequestStatus(row.status)
            if status in (RequestStatus.VERIFIED, RequestStatus.IN_PROGRESS):
                self._plan_once(connection, row, status, now)
            steps = list(
                connection.execute(
                    select(request_steps)
                    .where(request_steps.c.request_id == request_id)
                    .order_by(request_steps.c.seq)
                )
            )
            state = RunState(row, lease_until, write)
            if not any(
                s.status == StepStatus.DONE and s.action == "collect" and s.target is not None
                for s in steps
            ):
                state.found = {}  # no table collected yet: no keys found to read
            pending = [step for step in steps if step.status != StepStatus.DONE]
            self._ready(connection, state, pending[0] if pending else None)
        return state, pending

    def _plan_once(
        self, connection: Connection, row: Any, status: RequestStatus, now: dt.datetime
    ) -> None:
        """Write the request's steps unless they were (a run before this one died after it),
        and move a verified request to in progress."""
        request_id = row.id
        planned = connection.scalar(
            select(request_steps.c.id).where(request_steps.c.request_id == request_id).limit(1)
        )
        if planned is None:
            kind = RequestType(row.type)
            details = self._open(row, "details").get("details", {})
            categories: list[str] = []
            if row.subject_id is not None and kind in NOTIFIED_TYPES:  # who is told of it
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
            if planned_steps:  # an empty list would insert one row of defaults
                connection.execute(
                    insert(request_steps),
                    [
                        {
                            "request_id": request_id,
                            "seq": seq,
                            "system": step.system,
                            "target": step.target,
                            "action": step.action,
                            "status": StepStatus.PENDING,
                            "attempts": 0,
                            "updated_at": now,
                        }
                        for seq, step in enumerate(planned_steps)
                    ],
                )
        if status is RequestStatus.VERIFIED:
            moved = transition(status, "start")
            connection.execute(
                update(rights_requests)
                .where(rights_requests.c.id == request_id)
                .values(status=moved.value)
            )
            record_event(connection, request_id, now, "started", moved, "charter", None)

    def _run_steps(self, state: RunState, steps: list[Any], following: Any | None) -> None:
        """Run ``steps`` (one, or a batch of recipients' e-mail notices) and record each done,
        with its result sealed under the request's key and a ``step_done`` event, in one
        transaction, which also holds the steps' own writes to the store (a queued notice and
        its record commit together) and readies the ``following`` step (``_ready``). A step
        that acts outside the store has its attempt recorded before it runs; on an error the
        step stays pending, the error recorded, for the next run."""
        request_id = state.row.id
        renew = self._lease_to_renew(state)
        first = steps[0]
        if not self.steps.deferred(first) and first.id not in state.attempted:
            with state.write() as connection:
                self._ready(connection, state, first)
                self._renew(connection, request_id, renew)
            if renew is not None:
                state.lease_until, renew = renew, None
        attempted = first.id in state.attempted
        current = steps[0]
        try:
            closings = []
            for current in steps:
                closings.append(self.steps.execute(state, current))
            now = self.clock()
            key = self._key(state.row)
            done = []
            with state.write() as connection:
                self._renew(connection, request_id, renew)
                for current, closing in zip(steps, closings, strict=True):
                    result, summary = closing(connection)
                    sealed = None
                    if result is not None:
                        sealed = Vault.seal(key, request_id, f"step:{current.seq}", result)
                    done.append(
                        {
                            "step_id": current.id,
                            "new_attempts": current.attempts + 1,
                            "sealed": sealed,
                            "new_summary": summary,
                        }
                    )
                connection.execute(_MARK_DONE.values(updated_at=now), done)
                connection.execute(
                    insert(request_events),
                    [
                        {
                            "request_id": request_id,
                            "at": now,
                            "kind": "step_done",
                            "status": RequestStatus.IN_PROGRESS.value,
                            "actor": "charter",
                            "note": f"{step.action} {step.system}"
                            f"{'.' + step.target if step.target else ''}",
                        }
                        for step in steps
                    ],
                )
                # After the records: the package's reads see the collection just done.
                self._ready(connection, state, following)
        except Exception as error:
            # Kept pending for the next run; the error (no personal data: type and text of a
            # database or connection error) is shown to staff.
            with state.write() as connection:
                connection.execute(
                    update(request_steps)
                    .where(request_steps.c.id == current.id)
                    .values(
                        error=f"{type(error).__name__}: {error}"[:1000],
                        updated_at=self.clock(),
                        **({} if attempted else {"attempts": request_steps.c.attempts + 1}),
                    )
                )
            raise
        if renew is not None:
            state.lease_until = renew

    def _ready(self, connection: Connection, state: RunState, step: Any | None) -> None:
        """Ready the step to run next, in a transaction the run has open anyway: what it needs
        from the store is read, and, for a step acting outside the store, its attempt recorded
        (so a step that crashed the process shows as tried; one that only ever ran in the
        store is counted when it is done)."""
        if step is None or step.action == "manual":
            return
        self.steps.prepare(connection, state, step)
        if not self.steps.deferred(step) and step.id not in state.attempted:
            connection.execute(
                update(request_steps)
                .where(request_steps.c.id == step.id)
                .values(attempts=request_steps.c.attempts + 1)
            )
            state.attempted.add(step.id)

    def _lease_to_renew(self, state: RunState) -> dt.datetime | None:
        """The new end of the lease once ``RENEW_AFTER`` of it has run (renewed with the next
        step's records, so a long request is never taken for abandoned, while a request done
        in less never spends a statement on it), else ``None``."""
        now = self.clock()
        if state.lease_until - now > LEASE - RENEW_AFTER:
            return None
        return now + LEASE

    @staticmethod
    def _renew(connection: Connection, request_id: str, until: dt.datetime | None) -> None:
        if until is not None:
            connection.execute(
                update(rights_requests)
                .where(rights_requests.c.id == request_id)
                .values(lease_until=until)
            )

    # -- finishing ------------------------------------------------------------------------------

    def _finish(self, state: RunState) -> str:
        """All steps done: close the request (``charter.services.rights_outcome``) and free
        its lease in the same transaction."""
        request_id = state.row.id
        return finish(
            self.manifest,
            self.store,
            self.outbox,
            self.base_url,
            request_id,
            self.clock(),
            lambda connection: _free(connection, request_id),
            write=state.write,
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

    def _await_staff(self, state: RunState, step: Any) -> None:
        if step.status == StepStatus.AWAITING_STAFF:
            return
        request_id = state.row.id
        now = self.clock()
        with state.write() as connection:
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


def _free(connection: Connection, request_id: str) -> None:
    """Give up this process's lease on the request."""
    connection.execute(
        update(rights_requests)
        .where(rights_requests.c.id == request_id, rights_requests.c.lease_owner == _owner())
        .values(lease_until=None, lease_owner=None)
    )


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
