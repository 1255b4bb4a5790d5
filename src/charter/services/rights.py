"""Carrying out a verified rights request, as persisted steps that survive a crash.

When a request starts, its plan is written as rows of ``request_steps``, one per system and table
(one per system for an erasure, which runs inside one transaction per system), then the steps
run in order; each is marked done in its own transaction with its result (sealed under the
request's key) and a summary without personal data. A process that dies mid-request leaves the
remaining steps pending; ``run_pending`` (at start-up and on a timer in ``charter serve``)
takes them up again. Steps are idempotent: one that ran but was not marked done runs again
harmlessly (a second erasure finds nothing; a second collection reads the same rows).

What each type does (GDPR articles):

- access (15), portability (20): Charter's own data (values, identities, consents,
  preferences), then every row of every table of every SQL system and Parquet lake (the rows
  holding the person's cookie ids or account ids), then the package.
- erasure (17): each SQL system (its connector erases in one transaction, keeping rows under a
  legal hold minimised) and each Parquet lake (only the files holding the person rewritten,
  each atomically: ``charter.connectors.parquet``), then Charter's own data: values under a
  legal hold are kept (and the person restricted), everything else deleted; with nothing held,
  the subject and its data key are deleted (crypto-shredding).
- rectification (16): the corrections in ``details.changes`` (``{"shop.customers": {"last_name":
  "Smith"}, "charter": {"name": "Ann Smith"}}``) applied with old and new values kept.
- restriction (18), objection (21), withdraw_consent (7(3)): the flags and events decisions read.

Systems of kind ``webhook`` (a forum, a blog) are asked over their privacy webhook
(``charter.connectors.webhook``): to erase the person, their public posts deleted or
de-identified as the touchpoint's ``publication`` says, or for their data. An erasure of a
person who published at a touchpoint with ``publication.republishers`` also tells each of them,
and each republication staff recorded, as steps of system ``publication``
(``charter.services.publication``, Art. 17(2)).

Systems Charter has no connector for (``manual``), those whose connection variable is unset
here, corrections through a webhook, and corrections in a Parquet lake get a step that waits
for staff to confirm it was done by hand.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import socket
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update

from charter.connectors.parquet import LakeEngine, ParquetConnector, engine_from_env, lake_root
from charter.connectors.sql import SqlConnector
from charter.connectors.webhook import WebhookConnector, public_content
from charter.domain.clock import Clock
from charter.domain.errors import InvalidInput
from charter.domain.publication import republishers_to_tell
from charter.domain.requests import RequestStatus, RequestType, transition
from charter.manifest.models import ConnectorKind, IdentityKind, Manifest
from charter.services import request_messages as texts
from charter.services.consents import ConsentService
from charter.services.decisions import DecisionService
from charter.services.delivery import post_json, post_json_answer
from charter.services.disclosures import recipients_disclosed_to, report_disclosures
from charter.services.notices import NOTIFIED_TYPES, Notifier, recipients_to_notify
from charter.services.outbox import Message, Outbox
from charter.services.own_data import CHARTER, OwnData
from charter.services.package import AccessData, build_package, own_data_fields
from charter.services.preferences import PreferenceService
from charter.services.publication import (
    PUBLICATION,
    RECORDED,
    PublicationService,
    published_touchpoints,
    recorded_republications,
)
from charter.services.requests import (
    audit_actor,
    record_event,
    request_key,
    request_row,
    shred,
)
from charter.services.values import normalise_identity, printable
from charter.storage.audit import append_audit
from charter.storage.engine import make_engine
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import (
    personal_values,
    request_packages,
    request_steps,
    rights_requests,
)
from charter.storage.vault import Vault

PACKAGE_LIFETIME = dt.timedelta(days=7)
RECIPIENTS = "recipients"
"""The system name of the steps that tell recipients (Art. 17(2), 19)."""
LEASE = dt.timedelta(minutes=10)
"""How long a runner holds a request; a runner that dies frees it when this runs out."""
CONNECTOR_LIFETIME = 60.0
"""Seconds a system's connector, with the tables it reflected, serves later requests: reflecting
a table costs about ten catalogue queries, more than finding the person's rows; a column added to
a system's table reaches access packages within this time."""


logger = logging.getLogger("charter.rights")


class StepStatus:
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    AWAITING_STAFF = "awaiting_staff"


@dataclass(frozen=True, slots=True)
class PlannedStep:
    system: str
    target: str | None
    action: str


EngineFactory = Callable[[str], Engine]


def env_engine(variable: str) -> Engine:
    """The engine of an external system, from the environment variable the manifest names."""
    url = os.environ.get(variable)
    if not url:
        raise InvalidInput(f"the environment variable {variable} is not set", code="system_unset")
    return make_engine(url)


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
        self._engine_for = engine_for
        self._engines: dict[str, Engine] = {}
        self._connectors: dict[str, tuple[SqlConnector, float]] = {}
        self._lake_engine_for = lake_engine
        self._lake_engine: LakeEngine | None = None  # started at the first lake step
        self._holds = {hold.key: hold for hold in manifest.retention.legal_holds}
        self.own = OwnData(manifest, store, clock, consents, preferences)
        self.notifier = Notifier(manifest, store, outbox)
        self.publication = PublicationService(
            manifest, store, clock, DecisionService(manifest, store), outbox
        )
        self.push_allow_private = push_allow_private

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        self._connectors.clear()

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
        steps: list[PlannedStep] = []
        external = [
            (key, system)
            for key, system in self.manifest.systems.items()
            if kind in (RequestType.ACCESS, RequestType.PORTABILITY, RequestType.ERASURE)
            or (
                kind is RequestType.RECTIFICATION
                and any(target.split(".", 1)[0] == key for target in details.get("changes", {}))
            )
        ]
        if kind in (RequestType.ACCESS, RequestType.PORTABILITY):
            steps.append(PlannedStep(CHARTER, None, "collect"))
        for key, system in external:
            lake = system.connector is ConnectorKind.PARQUET
            webhook = system.connector is ConnectorKind.WEBHOOK
            reached = system.connector is ConnectorKind.SQL or lake or webhook
            if not reached or not self._connected(key):
                steps.append(PlannedStep(key, None, "manual"))
            elif webhook:
                hooked = {RequestType.ERASURE: "erase", RequestType.RECTIFICATION: "manual"}
                steps.append(PlannedStep(key, None, hooked.get(kind, "collect")))
            elif kind is RequestType.ERASURE:
                steps.append(PlannedStep(key, None, "erase"))
            elif kind is RequestType.RECTIFICATION:
                # Raw events are not corrected by rewriting the lake: staff decide (Art. 16).
                steps.append(PlannedStep(key, None, "manual" if lake else "rectify"))
            elif lake:
                steps.extend(PlannedStep(key, t, "collect") for t in system.tables)
            else:
                steps.extend(PlannedStep(key, t, "collect") for t in self._connector(key).tables())
        own = {
            RequestType.ACCESS: "package",
            RequestType.PORTABILITY: "package",
            RequestType.ERASURE: "erase",
            RequestType.RESTRICTION: "restrict",
            RequestType.OBJECTION: "object",
            RequestType.WITHDRAW_CONSENT: "withdraw",
        }.get(kind)
        if kind is RequestType.RECTIFICATION and CHARTER in details.get("changes", {}):
            own = "rectify"
        if kind in NOTIFIED_TYPES:
            # Before Charter's own step: an erasure there removes the identifiers to send.
            held = set(categories) | {
                column.category
                for system in self.manifest.systems.values()
                if system.connector is ConnectorKind.SQL
                for table in system.tables.values()
                for column in table.columns.values()
            }
            told = recipients_to_notify(self.manifest, held, disclosed_to)
            for key in told:
                action = "notify" if self.notifier.can_notify(key) else "manual"
                steps.append(PlannedStep(RECIPIENTS, key, action))
            if kind is RequestType.ERASURE:
                # Art. 17(2): those copying what the person published (told once).
                republishers = {
                    key: tp.publication.republishers
                    for key, tp in self.manifest.touchpoints.items()
                    if tp.publication is not None
                }
                for key in republishers_to_tell(published, republishers):
                    if key not in told:
                        action = "notify" if self.notifier.can_notify(key) else "manual"
                        steps.append(PlannedStep(PUBLICATION, key, action))
                steps.extend(
                    PlannedStep(PUBLICATION, f"{RECORDED}{record}", "notify")
                    for record in republished
                )
        if own is not None:
            steps.append(PlannedStep(CHARTER, None, own))
        if kind is RequestType.PORTABILITY and details.get("push_to"):
            steps.append(PlannedStep(CHARTER, None, "push"))
        return steps

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
            result, summary = self._execute(row, step)
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

    def _execute(self, row: Any, step: Any) -> tuple[Any, dict[str, Any]]:
        details = self._open(row, "details")
        identities = self._identities(row, details.get("identities", {}))
        if step.system == RECIPIENTS:
            given = details.get("identities", {})
            summary = self.notifier.notify(
                step.target,
                row.id,
                RequestType(row.type),
                identities or {k: [str(v)] for k, v in given.items()},
                self.clock(),
            )
            return None, summary
        if step.system == PUBLICATION:
            if step.target.startswith(RECORDED):
                record = step.target.removeprefix(RECORDED)
                return self.publication.notify_recorded(record, row.id, self.clock())
            return self.publication.notify_republisher(
                step.target, row.id, row.subject_id, self.clock()
            )
        if (
            step.system != CHARTER
            and self.manifest.systems[step.system].connector is ConnectorKind.WEBHOOK
        ):
            hook = self._webhook(step.system)
            if step.action == "erase":
                return None, hook.erase(row.id, identities)
            tables = hook.access(row.id, identities)
            return {"tables": tables}, {"rows": sum(len(rows) for rows in tables.values())}
        if step.system != CHARTER:
            connector: SqlConnector | ParquetConnector = (
                self._lake(step.system)
                if self.manifest.systems[step.system].connector is ConnectorKind.PARQUET
                else self._connector(step.system)
            )
            if step.action == "collect":
                found = self._found_keys(row, step.system)
                table = connector.collect_table(step.target, identities, found)
                return {"rows": table.rows, "keys": table.keys}, {"rows": len(table.rows)}
            if step.action == "erase":
                outcomes = connector.erase(identities)
                return None, {"tables": [asdict(o) for o in outcomes]}
            if step.action == "rectify":
                changes = {
                    target.split(".", 1)[1]: values
                    for target, values in details.get("details", {}).get("changes", {}).items()
                    if target.split(".", 1)[0] == step.system
                }
                done = self._connector(step.system).rectify(identities, changes)
                return [asdict(r) for r in done], {"rows": len(done)}
        if step.action == "package":
            return self._package(row)
        if step.action == "push":
            return self._push(row, details.get("details", {}).get("push_to", ""))
        handler = {
            "collect": self.own.collect,
            "erase": self.own.erase,
            "restrict": self.own.restrict,
            "object": self.own.object,
            "withdraw": self.own.withdraw,
            "rectify": self.own.rectify,
        }[step.action]
        return handler(row, details)

    def _package(self, row: Any) -> tuple[Any, dict[str, Any]]:
        """Build the access package from the collection steps' results and keep it, sealed
        under the request's key, until its link expires."""
        now = self.clock()
        key = self._key(row)
        own: dict[str, Any] = {}
        systems: dict[str, dict[str, Any]] = {}
        with self.store.read() as connection:
            for step in connection.execute(
                select(request_steps)
                .where(
                    request_steps.c.request_id == row.id,
                    request_steps.c.action == "collect",
                    request_steps.c.status == StepStatus.DONE,
                )
                .order_by(request_steps.c.seq)
            ):
                result = Vault.open(key, row.id, f"step:{step.seq}", bytes(step.result_sealed))
                if step.system == CHARTER:
                    own = result
                elif step.target is None:  # a webhook system answers with all its tables
                    systems.setdefault(step.system, {}).update(result["tables"])
                else:
                    systems.setdefault(step.system, {})[step.target] = result["rows"]
        fields = own_data_fields(own)
        given = self._open(row, "details").get("identities", {})
        for kind, value in given.items():
            if value is not None and str(value) not in fields["identities"].get(kind, []):
                fields["identities"].setdefault(kind, []).append(str(value))
        with self.store.read() as connection:
            disclosed = report_disclosures(
                self.manifest,
                connection,
                self.store.vault,
                row.subject_id,
                row.identity_hashes or (),
                now,
            )
            public_fields = (
                self.publication.visibility_report(connection, row.subject_id)
                if row.subject_id is not None
                else []
            )
        archive = build_package(
            self.manifest,
            AccessData(
                request_id=row.id,
                request_type=RequestType(row.type),
                brand=row.brand,
                generated_at=now,
                systems=systems,
                disclosures=disclosed,
                public_fields=public_fields,
                **fields,
            ),
        )
        expires = now + PACKAGE_LIFETIME
        with self.store.write() as connection:
            connection.execute(
                delete(request_packages).where(request_packages.c.request_id == row.id)
            )
            connection.execute(
                insert(request_packages).values(
                    request_id=row.id,
                    package_sealed=Vault.seal_bytes(key, row.id, "package", archive),
                    created_at=now,
                    expires_at=expires,
                )
            )
        tables = sum(len(t) for t in systems.values())
        return None, {
            "bytes": len(archive),
            "tables_collected": tables,
            "expires_at": expires.isoformat(),
        }

    def _push(self, row: Any, url: str) -> tuple[Any, dict[str, Any]]:
        """Send the person's data (``data.json``) to the destination they named (Art. 20(2))."""
        with self.store.read() as connection:
            sealed = connection.scalar(
                select(request_packages.c.package_sealed).where(
                    request_packages.c.request_id == row.id
                )
            )
        if sealed is None:  # the package step comes first; this is a bug if it happens
            raise InvalidInput("no package to push", code="no_package")
        archive = Vault.open_bytes(self._key(row), row.id, "package", bytes(sealed))
        with zipfile.ZipFile(io.BytesIO(archive)) as package:
            body = package.read("data.json")
        status = post_json(
            url, body, {"Charter-Request": row.id}, allow_private=self.push_allow_private
        )
        return None, {"pushed_to": urlsplit(url).hostname, "status": status}

    # -- finishing ------------------------------------------------------------------------------

    def _finish(self, request_id: str) -> str:
        """All steps done: record the outcome (no personal data), tell the person, and close
        (the request's key is destroyed now, or for an access request when its package expires)."""
        now = self.clock()
        with self.store.write() as connection:
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
                link = f"{self.base_url}/privacy/requests/{request_id}"
            subject, body = texts.completed(
                self.manifest, row.brand, request_id, _summary(kind, outcome), link
            )
            self.outbox.enqueue(
                connection,
                Message(
                    to=str(self._open(row, "contact")),
                    subject=subject,
                    body=body,
                    kind="request_completed",
                    sender=self.manifest.policy.controller.email,
                    request_id=request_id,
                ),
                now,
            )
            if kind is RequestType.ERASURE:
                # Behind the confirmation just queued: the mail naming the person goes too.
                self.outbox.forget(connection, self._erased(connection, row), request_id, now)
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

    def _erased(self, connection: Connection, row: Any) -> dict[str, list[str]]:
        """Every identity an erasure request named or found in Charter: those given (as given
        and normalised), the contact address, and those Charter's own step deleted (its
        result)."""
        region = self.manifest.policy.default_phone_region
        found: dict[str, set[str]] = {"email": {str(self._open(row, "contact"))}}
        for kind, value in self._open(row, "details").get("identities", {}).items():
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
                self._key(row), row.id, f"step:{step.seq}", bytes(step.result_sealed)
            )
            for kind, values in (result or {}).get("identities", {}).items():
                found.setdefault(kind, set()).update(values)
        return {kind: sorted(values) for kind, values in found.items()}

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
            if step.system in (RECIPIENTS, PUBLICATION):
                recipient = self.manifest.recipients[step.target]
                note = (
                    f"{recipient.name} has no notify address: tell it (Art. 17(2), 19), then "
                    f"confirm step {step.seq}"
                )
            else:
                system = self.manifest.systems[step.system]
                connectable = system.connector in (ConnectorKind.SQL, ConnectorKind.PARQUET)
                if system.connector is ConnectorKind.WEBHOOK and not self._connected(step.system):
                    variables = [v for v in (system.connection_env, system.secret_env) if v]
                    why = f"its webhook ({' and '.join(variables)}) is not set"
                elif system.connector is ConnectorKind.WEBHOOK:
                    why = "Charter does not correct data through a webhook"
                elif connectable and not self._connected(step.system):
                    why = f"its connection ({system.connection_env}) is not set"
                elif connectable:
                    why = "Charter does not correct events in a data lake"
                else:
                    why = f"Charter has no {system.connector.value} connector"
                note = f"{system.name}: {why}; carry out step {step.seq} by hand, then confirm it"
            record_event(
                connection,
                request_id,
                now,
                "awaiting_staff",
                RequestStatus.IN_PROGRESS,
                "charter",
                note,
            )

    def _identities(self, row: Any, given: Mapping[str, Any]) -> dict[str, list[str]]:
        """Everything that identifies the person in other systems: the identities in the
        request and those Charter holds for the subject."""
        region = self.manifest.policy.default_phone_region
        found: dict[str, set[str]] = {}
        for kind, value in given.items():
            if value is not None:
                found.setdefault(kind, set()).add(
                    normalise_identity(IdentityKind(kind), value, region)
                )
        if row.subject_id is not None:
            with self.store.read() as connection:
                repo = SubjectRepository(connection, self.store.vault)
                subject_id = repo.resolve(row.subject_id)
                if subject_id is not None:
                    for kind, value in repo.identities_of(subject_id):
                        found.setdefault(kind, set()).add(value)
        return {kind: sorted(values) for kind, values in found.items()}

    def _found_keys(self, row: Any, system: str) -> dict[str, list[Any]]:
        """The primary keys collected by the earlier steps in ``system`` of the request ``row``."""
        request_id = row.id
        found: dict[str, list[Any]] = {}
        with self.store.read() as connection:
            for step in connection.execute(
                select(
                    request_steps.c.seq, request_steps.c.target, request_steps.c.result_sealed
                ).where(
                    request_steps.c.request_id == request_id,
                    request_steps.c.system == system,
                    request_steps.c.status == StepStatus.DONE,
                )
            ):
                if step.result_sealed is not None and step.target is not None:
                    result = Vault.open(
                        self._key(row), request_id, f"step:{step.seq}", bytes(step.result_sealed)
                    )
                    found[step.target] = result["keys"]
        return found

    def connector(self, system_key: str) -> SqlConnector | None:
        """The SQL system's connector, or ``None`` when its connection is not configured here
        (its environment variable unset)."""
        try:
            return self._connector(system_key)
        except InvalidInput as unset:
            if unset.code != "system_unset":
                raise
            return None

    def _connected(self, system_key: str) -> bool:
        """Whether the SQL system's or lake's connection is configured here; a system whose
        variable is unset is done by hand (staff see why), rather than failing the request
        forever."""
        system = self.manifest.systems[system_key]
        try:
            if system.connector is ConnectorKind.PARQUET:
                assert system.connection_env is not None  # lint: a lake names its variable
                lake_root(system.connection_env)
            elif system.connector is ConnectorKind.WEBHOOK:
                self._webhook(system_key).check()
            else:
                self._connector(system_key)
        except InvalidInput as unset:
            if unset.code != "system_unset":
                raise
            logger.warning("system %s: %s; its steps wait for staff", system_key, unset.message)
            return False
        return True

    def _connector(self, system_key: str) -> SqlConnector:
        system = self.manifest.systems[system_key]
        engine = self._engines.get(system_key)
        if engine is None:
            assert system.connection_env is not None  # lint: a SQL system names its variable
            engine = self._engines[system_key] = self._engine_for(system.connection_env)
        kept = self._connectors.get(system_key)
        now = time.monotonic()
        if kept is not None and kept[0].engine is engine and now - kept[1] < CONNECTOR_LIFETIME:
            return kept[0]
        connector = SqlConnector(system_key, system, engine, self._holds)
        self._connectors[system_key] = (connector, now)
        return connector

    def _webhook(self, system_key: str) -> WebhookConnector:
        """The webhook system's connector; its URL and secret are read at each request. The
        manifest's webhooks are the operator's choice: private networks are allowed."""

        def post(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
            return post_json_answer(url, body, headers, allow_private=True)

        return WebhookConnector(
            system_key,
            self.manifest.systems[system_key],
            public_content(self.manifest, system_key),
            post,
        )

    def _lake(self, system_key: str) -> ParquetConnector:
        """The lake's connector on the configured engine (DuckDB unless ``CHARTER_LAKE_ENGINE``
        says ``spark``), started once per runner; the directory is read from the environment
        each time, so a changed variable takes effect at the next step."""
        system = self.manifest.systems[system_key]
        assert system.connection_env is not None  # lint: a lake names its variable
        root = lake_root(system.connection_env)
        if self._lake_engine is None:
            self._lake_engine = self._lake_engine_for()
        return ParquetConnector(system_key, system, root, self._lake_engine, self._holds)

    def _load(self, request_id: str) -> Any:
        with self.store.read() as connection:
            return request_row(connection, request_id)

    def _key(self, row: Any) -> bytes:
        return request_key(self.store.vault, row)

    def _open(self, row: Any, label: str) -> Any:
        sealed = row.details_sealed if label == "details" else row.contact_sealed
        return Vault.open(self._key(row), row.id, label, bytes(sealed))


def _summary(kind: RequestType, outcome: Mapping[str, Any]) -> str:
    lines = []
    for step in outcome["steps"]:
        where = (
            "our records"
            if step["system"] == CHARTER
            else f"{step['system']}{'.' + step['target'] if step.get('target') else ''}"
        )
        facts = ", ".join(
            f"{k.replace('_', ' ')}: {v}"
            for k, v in step.items()
            if k not in ("system", "target", "action") and not isinstance(v, (list, dict))
        )
        lines.append(f"- {step['action']} in {where}" + (f" ({facts})" if facts else ""))
        for kept in step.get("kept", []) or []:
            lines.append(
                f"  kept: {kept['category']} under {kept['hold']} until {kept['until']}"
                f" ({kept['law']})"
            )
        for table in step.get("tables", []) or []:
            if table.get("hold"):
                lines.append(
                    f"  kept in {table['table']}: {', '.join(table['columns_kept'])}"
                    f" under {table['hold']}"
                )
    return "What we did:\n" + "\n".join(lines)


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
