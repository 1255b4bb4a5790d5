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
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select

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
from charter.services.own_data import CHARTER, OwnData
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

    def execute(self, row: Any, step: Any) -> tuple[Any, dict[str, Any]]:
        """Run ``step`` of the request ``row``; returns its result and summary."""
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
            hook = self.systems.webhook(step.system)
            if step.action == "erase":
                return None, hook.erase(row.id, identities)
            if step.action == "rectify":
                # The system does not say the old values: the result keeps what it was asked.
                changes = changes_for(details.get("details", {}).get("changes", {}), step.system)
                return {"changes": changes}, hook.rectify(row.id, identities, changes)
            tables = hook.access(row.id, identities)
            return {"tables": tables}, {"rows": sum(len(rows) for rows in tables.values())}
        if step.system != CHARTER:
            connector: SqlConnector | ParquetConnector = (
                self.systems.lake(step.system)
                if self.manifest.systems[step.system].connector is ConnectorKind.PARQUET
                else self.systems.sql(step.system)
            )
            if step.action == "collect":
                found = self._found_keys(row, step.system)
                table = connector.collect_table(step.target, identities, found)
                return {"rows": table.rows, "keys": table.keys}, {"rows": len(table.rows)}
            if step.action == "erase":
                outcomes = connector.erase(identities)
                return None, {"tables": [asdict(o) for o in outcomes]}
            if step.action == "rectify":
                changes = changes_for(details.get("details", {}).get("changes", {}), step.system)
                done = connector.rectify(identities, changes)
                per_table = dict.fromkeys(changes, 0)
                for rectified in done:
                    per_table[rectified.table] += 1
                return [asdict(r) for r in done], {"rows": len(done), "rows_per_table": per_table}
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

    def _key(self, row: Any) -> bytes:
        return request_key(self.store.vault, row)

    def _open(self, row: Any, label: str) -> Any:
        return open_field(self.store.vault, row, label)
