"""Carrying out one step of a rights request, against Charter's own data or an external system.

A step returns its result (sealed under the request's key by the runner; personal data) and a
summary without personal data. Steps in an external system find the person by every identity
the request gave and Charter holds for them; a collection in a SQL system or lake also follows
the primary keys the earlier collections there found. The recipients' and republishers' steps
tell them of the request (``charter.services.notices``, ``charter.services.publication``).

The ``package`` step builds the access package from the collections' results and keeps it,
sealed, for ``PACKAGE_LIFETIME``; the ``push`` step of a portability request sends its
``data.json`` where the person asked (Art. 20(2)).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select

from charter.connectors.parquet import ParquetConnector
from charter.connectors.sql import SqlConnector
from charter.domain.clock import Clock
from charter.domain.errors import InvalidInput
from charter.domain.rectification import changes_for
from charter.domain.requests import RequestType
from charter.manifest.models import ConnectorKind, IdentityKind, Manifest
from charter.services.delivery import post_json
from charter.services.disclosure_report import report_disclosures
from charter.services.notices import Notifier
from charter.services.own_data import CHARTER, OwnData, StepResult
from charter.services.package import build_package
from charter.services.package_data import AccessData, own_data_fields
from charter.services.publication import PUBLICATION, RECORDED, PublicationService
from charter.services.request_records import request_key
from charter.services.rights_plan import RECIPIENTS, StepStatus
from charter.services.rights_systems import Systems
from charter.services.values import normalise_identity
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import request_packages, request_steps
from charter.storage.vault import Vault

PACKAGE_LIFETIME = dt.timedelta(days=7)

Writer = Callable[[], AbstractContextManager[Connection]]
"""Opens a write transaction (``Store.write``, or ``Store.session``'s on a connection held)."""

Closing = Callable[[Connection], StepResult]
"""The last part of a step, done in the transaction that records the step done (so that its
writes to Charter's store and their record commit together, or neither does); it returns the
step's result and summary."""


@dataclass(slots=True)
class RunState:
    """What the steps of one run of a request share, each read from the store at most once:
    the request's row as the run began (its key, details and subject do not change while it
    runs), the identities that find the person in other systems, and the primary keys the
    collections found, by system and table (those of earlier runs read, this run's added as
    its steps are done)."""

    row: Any
    lease_until: dt.datetime
    write: Writer
    """The run's transactions, on one connection held for the run (``Store.session``)."""
    identities: dict[str, list[str]] | None = None
    found: dict[str, dict[str, list[Any]]] | None = None
    collected: tuple[dict[str, Any], dict[str, dict[str, Any]], Any, Any] | None = None
    """What the package is made of, once read (``StepExecutor.gather``)."""
    attempted: set[int] = field(default_factory=set)
    """The steps whose attempt this run recorded already (with the step before them)."""


def open_field(vault: Vault, row: Any, label: str) -> Any:
    """The request's sealed ``details`` or ``contact``, opened."""
    sealed = row.details_sealed if label == "details" else row.contact_sealed
    return Vault.open(request_key(vault, row), row.id, label, bytes(sealed))


class StepExecutor:
    """Executes the steps the runner hands it (see the module docstring)."""

    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        systems: Systems,
        own: OwnData,
        notifier: Notifier,
        publication: PublicationService,
        *,
        push_allow_private: bool = False,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.systems = systems
        self.own = own
        self.notifier = notifier
        self.publication = publication
        self.push_allow_private = push_allow_private

    def deferred(self, step: Any) -> bool:
        """Whether the step changes nothing before its closing transaction (all it does is in
        Charter's store, or only reads before it): such a step needs no attempt recorded
        before it runs, as a crash leaves nothing of it behind."""
        if step.system == RECIPIENTS:
            return step.action == "notify" and self.notifier.by_email(step.target)
        return step.system == CHARTER and step.action in ("collect", "erase", "package")

    def batched(self, step: Any) -> bool:
        """Whether the step may share its closing transaction with the steps like it next to
        it: a recipient's e-mail notice (Art. 19) is only queued in the outbox, so a request's
        notices are queued and recorded in one transaction, each with its own step and event."""
        return step.system == RECIPIENTS and self.deferred(step)

    def prepare(self, connection: Connection, state: RunState, step: Any) -> None:
        """Read what ``step`` will need from Charter's store (the person's identities, the keys
        found before, what the package is made of) in the caller's transaction, which the
        runner has open anyway (the one that records the step before done), rather than in
        transactions of their own."""
        if step.system == CHARTER:
            if step.action == "package":
                self.gather(connection, state)
            return
        self.identities(state, self._open(state.row, "details").get("identities", {}), connection)
        if step.action == "collect" and step.target is not None:
            self._found_keys(state, connection)

    def execute(self, state: RunState, step: Any) -> Closing:
        """Run ``step`` of the request of ``state`` up to its closing transaction (which the
        runner opens to record it done): what it does outside Charter's store is done here."""
        row = state.row
        details = self._open(row, "details")
        if step.system == RECIPIENTS:
            given = details.get("identities", {})
            told = self.identities(state, given) or {k: [str(v)] for k, v in given.items()}
            kind = RequestType(row.type)
            if self.notifier.by_email(step.target):
                return lambda connection: (
                    None,
                    self.notifier.queue(connection, step.target, row.id, kind, told, self.clock()),
                )
            return _done(None, self.notifier.notify(step.target, row.id, kind, told, self.clock()))
        if step.system == PUBLICATION:
            if step.target.startswith(RECORDED):
                record = step.target.removeprefix(RECORDED)
                return _done(*self.publication.notify_recorded(record, row.id, self.clock()))
            return _done(
                *self.publication.notify_republisher(
                    step.target, row.id, row.subject_id, self.clock()
                )
            )
        if (
            step.system != CHARTER
            and self.manifest.systems[step.system].connector is ConnectorKind.WEBHOOK
        ):
            hook = self.systems.webhook(step.system)
            identities = self.identities(state, details.get("identities", {}))
            if step.action == "erase":
                return _done(None, hook.erase(row.id, identities))
            if step.action == "rectify":
                # The system does not say the old values: the result keeps what it was asked.
                changes = changes_for(details.get("details", {}).get("changes", {}), step.system)
                return _done({"changes": changes}, hook.rectify(row.id, identities, changes))
            tables = hook.access(row.id, identities)
            return _done({"tables": tables}, {"rows": sum(len(rows) for rows in tables.values())})
        if step.system != CHARTER:
            connector: SqlConnector | ParquetConnector = (
                self.systems.lake(step.system)
                if self.manifest.systems[step.system].connector is ConnectorKind.PARQUET
                else self.systems.sql(step.system)
            )
            identities = self.identities(state, details.get("identities", {}))
            if step.action == "collect":
                found = self._found_keys(state).setdefault(step.system, {})
                table = connector.collect_table(step.target, identities, found)
                found[step.target] = table.keys
                return _done({"rows": table.rows, "keys": table.keys}, {"rows": len(table.rows)})
            if step.action == "erase":
                outcomes = connector.erase(identities)
                return _done(None, {"tables": [asdict(o) for o in outcomes]})
            if step.action == "rectify":
                changes = changes_for(details.get("details", {}).get("changes", {}), step.system)
                done = connector.rectify(identities, changes)
                per_table = dict.fromkeys(changes, 0)
                for rectified in done:
                    per_table[rectified.table] += 1
                return _done(
                    [asdict(r) for r in done], {"rows": len(done), "rows_per_table": per_table}
                )
        if step.action == "package":
            return self._package(state)
        if step.action == "push":
            return _done(*self._push(row, details.get("details", {}).get("push_to", "")))
        if step.action == "collect":
            return lambda connection: self.own.collect(connection, row)
        if step.action == "erase":
            return lambda connection: self.own.erase(connection, row)
        handler = {
            "restrict": self.own.restrict,
            "object": self.own.object,
            "withdraw": self.own.withdraw,
            "rectify": self.own.rectify,
        }[step.action]
        return _done(*handler(row, details))

    def _package(self, state: RunState) -> Closing:
        """Build the access package from the collection steps' results and keep it, sealed
        under the request's key, until its link expires (stored in the closing transaction)."""
        row = state.row
        now = self.clock()
        key = self._key(row)
        if state.collected is None:
            with self.store.read() as connection:
                self.gather(connection, state)
        assert state.collected is not None
        own, systems, disclosed, public_fields = state.collected
        fields = own_data_fields(own)
        given = self._open(row, "details").get("identities", {})
        for kind, value in given.items():
            if value is not None and str(value) not in fields["identities"].get(kind, []):
                fields["identities"].setdefault(kind, []).append(str(value))
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
                language=row.language,
                **fields,
            ),
        )
        expires = now + PACKAGE_LIFETIME
        sealed = Vault.seal_bytes(key, row.id, "package", archive)
        summary = {
            "bytes": len(archive),
            "tables_collected": sum(len(t) for t in systems.values()),
            "expires_at": expires.isoformat(),
        }

        def store(connection: Connection) -> StepResult:
            connection.execute(
                delete(request_packages).where(request_packages.c.request_id == row.id)
            )
            connection.execute(
                insert(request_packages).values(
                    request_id=row.id, package_sealed=sealed, created_at=now, expires_at=expires
                )
            )
            return None, summary

        return store

    def gather(self, connection: Connection, state: RunState) -> None:
        """Read what the package is made of: the collection steps' results, the disclosures of
        the person's data and what of it is public (in the caller's transaction)."""
        row = state.row
        key = self._key(row)
        own: dict[str, Any] = {}
        systems: dict[str, dict[str, Any]] = {}
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
        disclosed = report_disclosures(
            self.manifest,
            connection,
            self.store.vault,
            row.subject_id,
            row.identity_hashes or (),
            self.clock(),
        )
        public_fields = (
            self.publication.visibility_report(connection, row.subject_id)
            if row.subject_id is not None
            else []
        )
        state.collected = (own, systems, disclosed, public_fields)

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

    def identities(
        self, state: RunState, given: Mapping[str, Any], connection: Connection | None = None
    ) -> dict[str, list[str]]:
        """Everything that identifies the person in other systems: the identities in the
        request and those Charter holds for the subject (read once per run: the steps before
        Charter's own erasure, the last, do not change them)."""
        if state.identities is not None:
            return state.identities
        row = state.row
        region = self.manifest.policy.default_phone_region
        found: dict[str, set[str]] = {}
        for kind, value in given.items():
            if value is not None:
                found.setdefault(kind, set()).add(
                    normalise_identity(IdentityKind(kind), value, region)
                )
        if row.subject_id is not None:
            with _reading(self.store, connection) as reading:
                repo = SubjectRepository(reading, self.store.vault)
                subject_id = repo.resolve(row.subject_id)
                if subject_id is not None:
                    for kind, value in repo.identities_of(subject_id):
                        found.setdefault(kind, set()).add(value)
        state.identities = {kind: sorted(values) for kind, values in found.items()}
        return state.identities

    def _found_keys(
        self, state: RunState, connection: Connection | None = None
    ) -> dict[str, dict[str, list[Any]]]:
        """The primary keys collected by the request's steps done before this run, by system
        and table (read once per run; the runner's collections add theirs)."""
        if state.found is not None:
            return state.found
        row = state.row
        found: dict[str, dict[str, list[Any]]] = {}
        with _reading(self.store, connection) as reading:
            for step in reading.execute(
                select(
                    request_steps.c.seq,
                    request_steps.c.system,
                    request_steps.c.target,
                    request_steps.c.result_sealed,
                ).where(
                    request_steps.c.request_id == row.id,
                    request_steps.c.action == "collect",
                    request_steps.c.status == StepStatus.DONE,
                    request_steps.c.system != CHARTER,
                )
            ):
                if step.result_sealed is not None and step.target is not None:
                    result = Vault.open(
                        self._key(row), row.id, f"step:{step.seq}", bytes(step.result_sealed)
                    )
                    found.setdefault(step.system, {})[step.target] = result["keys"]
        state.found = found
        return found

    def _key(self, row: Any) -> bytes:
        return request_key(self.store.vault, row)

    def _open(self, row: Any, label: str) -> Any:
        return open_field(self.store.vault, row, label)


def _done(result: Any, summary: dict[str, Any]) -> Closing:
    """The closing part of a step whose work is done: it only records the result."""
    return lambda _connection: (result, summary)


@contextmanager
def _reading(store: Store, connection: Connection | None) -> Iterator[Connection]:
    """The caller's transaction, or a read transaction of its own when it has none."""
    if connection is not None:
        yield connection
        return
    with store.read() as reading:
        yield reading
