"""Anonymous aggregate releases over the event lake, protecting people (``charter.domain.release``
states the rules; this module runs them).

A release reads the ``page_views`` files of a Parquet system (the lake layout of
``charter.domain.lake``) with DuckDB, and:

1. **The person.** The unit protected is the person, not the event: the account id where the
   cookie was seen signed in (an event the release reads carrying both), else the cookie id.
   One account's several cookies are thus one person; a visitor who never signs in is one
   person per cookie (nothing links their devices, so nothing can bound them together).
2. **Bounding in SQL.** Per person the ``M`` cells with the smallest salted hash of
   ``(person, cell)``, per cell the ``K`` rows with the smallest salted hash of
   ``(person, event)`` (``row_number()`` over DuckDB's ``hash``). The salt is derived from the
   master key (the vault's keyed hash), never stored nor in the manifest. Rows whose dimension
   value lies outside its public domain go to ``other`` where the domain has it (a new device
   type), else are left out (a row without a country), before bounding.
3. **Cells.** Aggregated per cell and laid on the public cell list, so that every cell of the
   domains appears, 0 where no one is.
4. **Noise.** OpenDP's Laplace mechanism (integer for counts, float for sums) with scale =
   L1 sensitivity / epsilon; a sum spends half its epsilon on a noisy count (suppression
   needs the number of people behind a cell) and half on the noisy sum.
5. **Release.** Rounded, suppressed below ``k``, margins from the released cells, then in one
   transaction: the budget checked again (the ledger is the sum of ``stat_releases.epsilon``
   per dataset), the release recorded, the aggregate disclosure recorded in the register, and
   the audit log appended (counts and parameters, never a value of a person).

A refused release (bad input, budget exhausted) records nothing; its noisy result, if computed,
is thrown away unseen, which reveals nothing.

Steps 1 to 3 run in ``charter.services.release_query``; the noise of step 4 is
``charter.services.laplace``.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import Connection, func, select

from charter.domain import release as rules
from charter.domain.clock import Clock
from charter.domain.errors import InvalidInput, InvalidValue
from charter.domain.lake import TABLE, is_hidden
from charter.domain.release import Bounds, Cell, Measure
from charter.manifest.models import (
    IDENTITY_CATEGORIES,
    ConnectorKind,
    IdentityKind,
    Manifest,
    RecipientKind,
)
from charter.services.disclosures import DisclosureService
from charter.services.laplace import laplace_float, laplace_int
from charter.services.release_query import ReleasePlan, bounded_aggregates
from charter.services.values import printable
from charter.storage.audit import append_audit
from charter.storage.engine import utc
from charter.storage.store import Store
from charter.storage.tables import stat_releases

NAMED_THIRD_PARTY = "third_party"
"""The register's recipient key of a third party the manifest does not list by name."""


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    dataset: str
    measure: str = "count"
    by: Sequence[str] = ()
    where: Mapping[str, Sequence[str]] = field(default_factory=dict)
    epsilon: float | None = None
    recipient: str = ""
    purpose: str | None = None
    column: str | None = None
    """The numeric column of a sum or a histogram."""
    lower: float | None = None
    upper: float | None = None
    bins: Sequence[float] = ()


@dataclass(frozen=True, slots=True)
class Release:
    id: str
    dataset: str
    measure: str
    dimensions: list[str]
    where: dict[str, list[str]]
    epsilon: float
    noise_scale: float
    sensitivity: float
    k: int
    rows_per_cell: int
    cells_per_person: int
    recipient: str
    recipient_name: str
    created_at: dt.datetime
    created_by: str
    cells: list[dict[str, Any]]
    margins: dict[str, Any]
    suppressed: int
    disclosure_id: str | None
    budget: float
    spent: float


@dataclass(frozen=True, slots=True)
class Budget:
    dataset: str
    budget: float
    spent: float
    releases: int

    @property
    def remaining(self) -> float:
        return max(0.0, self.budget - self.spent)


class StatisticsService:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        disclosures: DisclosureService,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.disclosures = disclosures
        self._environ = environ

    # -- the budget ----------------------------------------------------------------------------

    def datasets(self) -> list[str]:
        """The systems a release may read: the manifest's Parquet systems."""
        return [k for k, s in self.manifest.systems.items() if s.connector is ConnectorKind.PARQUET]

    def budget(self) -> list[Budget]:
        """Per dataset, the budget, the epsilon spent and the releases made."""
        with self.store.read() as connection:
            found = {
                row.dataset: (float(row.spent), int(row.releases))
                for row in connection.execute(
                    select(
                        stat_releases.c.dataset,
                        func.sum(stat_releases.c.epsilon).label("spent"),
                        func.count().label("releases"),
                    ).group_by(stat_releases.c.dataset)
                )
            }
        total = self.manifest.statistics.epsilon_budget
        names = list(dict.fromkeys([*self.datasets(), *sorted(found)]))
        return [Budget(n, total, *found.get(n, (0.0, 0))) for n in names]

    def _spent(self, connection: Connection, dataset: str) -> float:
        spent = connection.scalar(
            select(func.coalesce(func.sum(stat_releases.c.epsilon), 0.0)).where(
                stat_releases.c.dataset == dataset
            )
        )
        return float(spent or 0.0)

    # -- a release -----------------------------------------------------------------------------

    def release(self, request: ReleaseRequest, actor: str) -> Release:
        """Make, record and return one release (see the module docstring)."""
        settings = self.manifest.statistics
        plan = self.plan(request)
        recipient, recipient_name = self._recipient(request.recipient)
        purpose = None
        if request.purpose is not None:
            purpose = printable(request.purpose, "purpose").strip()[:1000] or None
        with self.store.read() as connection:
            rules.check_budget(
                self._spent(connection, plan.dataset), settings.epsilon_budget, plan.epsilon
            )

        true_counts, true_sums = self._aggregate(plan)
        released, margins, suppressed = self._noisy(plan, true_counts, true_sums)

        now = self.clock()
        release_id = str(uuid.uuid4())
        query = {
            "measure": plan.measure.value,
            "by": plan.dimensions,
            "where": plan.where,
            "column": plan.column,
            "lower": plan.clamp[0] if plan.clamp else None,
            "upper": plan.clamp[1] if plan.clamp else None,
            "bins": plan.edges,
            "purpose": purpose,
        }
        parameters = {
            "k": settings.k,
            "rows_per_cell": plan.bounds.rows_per_cell,
            "cells_per_person": plan.bounds.cells_per_person,
            "sensitivity": plan.sensitivity,
            "mechanism": "laplace (OpenDP)",
            "person": "account_id where the cookie was seen signed in, else cookie_id",
        }
        result = {"cells": released, "margins": margins, "suppressed": suppressed}
        with self.store.write() as connection:
            if connection.dialect.name == "postgresql":
                # One release at a time per database: the budget check and the record below
                # must not interleave with another release's (two could each fit alone).
                connection.exec_driver_sql("LOCK TABLE stat_releases IN SHARE ROW EXCLUSIVE MODE")
            spent = self._spent(connection, plan.dataset)
            rules.check_budget(spent, settings.epsilon_budget, plan.epsilon)
            note = (
                f"Aggregate statistics release {release_id}: {plan.measure.value} of "
                f"{plan.dataset} by {', '.join(plan.dimensions) or 'total'}, epsilon "
                f"{plan.epsilon:g}, k {settings.k}." + (f" Purpose: {purpose}" if purpose else "")
            )
            disclosure_id = self.disclosures.record_aggregate(
                connection,
                recipient=recipient,
                recipient_name=recipient_name,
                categories=plan.categories,
                note=note,
                actor=actor,
                now=now,
            )
            connection.execute(
                stat_releases.insert().values(
                    id=release_id,
                    dataset=plan.dataset,
                    query=query,
                    parameters=parameters,
                    epsilon=plan.epsilon,
                    noise_scale=plan.scale,
                    recipient=recipient,
                    recipient_name=recipient_name,
                    disclosure_id=disclosure_id,
                    created_at=now,
                    created_by=actor,
                    result=result,
                )
            )
            append_audit(
                connection,
                at=now,
                actor=actor,
                action="statistics.released",
                target=release_id,
                details={
                    "dataset": plan.dataset,
                    "measure": plan.measure.value,
                    "by": plan.dimensions,
                    "epsilon": plan.epsilon,
                    "cells": len(released),
                    "suppressed": suppressed,
                    "recipient": recipient,
                    "disclosure": disclosure_id,
                },
            )
        return Release(
            id=release_id,
            dataset=plan.dataset,
            measure=plan.measure.value,
            dimensions=plan.dimensions,
            where=plan.where,
            epsilon=plan.epsilon,
            noise_scale=plan.scale,
            sensitivity=plan.sensitivity,
            k=settings.k,
            rows_per_cell=plan.bounds.rows_per_cell,
            cells_per_person=plan.bounds.cells_per_person,
            recipient=recipient,
            recipient_name=recipient_name,
            created_at=now,
            created_by=actor,
            cells=released,
            margins=margins,
            suppressed=suppressed,
            disclosure_id=disclosure_id,
            budget=settings.epsilon_budget,
            spent=spent + plan.epsilon,
        )

    def releases(self, dataset: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The recorded releases, newest first (without their cells)."""
        query = select(stat_releases).order_by(stat_releases.c.created_at.desc())
        if dataset is not None:
            query = query.where(stat_releases.c.dataset == dataset)
        with self.store.read() as connection:
            return [
                {
                    "id": r.id,
                    "dataset": r.dataset,
                    "query": r.query,
                    "parameters": r.parameters,
                    "epsilon": r.epsilon,
                    "noise_scale": r.noise_scale,
                    "recipient": r.recipient,
                    "recipient_name": r.recipient_name,
                    "disclosure_id": r.disclosure_id,
                    "created_at": utc(r.created_at).astimezone(dt.UTC).isoformat(),
                    "created_by": r.created_by,
                }
                for r in connection.execute(query.limit(limit))
            ]

    # -- the parts -----------------------------------------------------------------------------

    def plan(self, request: ReleaseRequest) -> ReleasePlan:
        """The checked request: cells, bounds, noise scale (no data read, no budget spent)."""
        settings = self.manifest.statistics
        system = self.manifest.systems.get(request.dataset)
        if system is None or system.connector is not ConnectorKind.PARQUET:
            known = ", ".join(self.datasets()) or "none"
            raise InvalidValue(f"dataset: not a Parquet system of the manifest (known: {known})")
        try:
            measure = Measure(request.measure)
        except ValueError:
            raise InvalidValue(f"measure: one of {', '.join(m.value for m in Measure)}") from None
        dimensions = rules.check_dimensions(list(request.by), settings.dimensions)
        brands = list(self.manifest.brands)
        domains = {key: settings.domain(key, brands) for key in settings.dimensions}
        where = rules.check_filters(request.where, domains)
        epsilon = rules.check_epsilon(
            settings.epsilon if request.epsilon is None else request.epsilon
        )
        bounds = Bounds(settings.max_rows_per_cell, settings.max_cells_per_person)
        clamp = None
        edges: list[float] = []
        column = None
        if measure is not Measure.COUNT:
            if not request.column or not _identifier(request.column):
                raise InvalidValue(f"column: the numeric column a {measure.value} is of")
            column = request.column
        if measure is Measure.SUM:
            clamp = rules.check_clamp(request.lower, request.upper)
        elif request.lower is not None or request.upper is not None:
            raise InvalidValue("lower, upper: only a sum is clamped")
        if measure is Measure.HISTOGRAM:
            edges = rules.check_bins(list(request.bins))
        elif request.bins:
            raise InvalidValue("bins: only a histogram has bins")
        cell_domains = [domains[d] for d in dimensions]
        names = list(dimensions)
        if measure is Measure.HISTOGRAM:
            assert column is not None
            cell_domains.append(tuple(rules.bin_labels(edges)))
            names.append(column)
        cells = rules.public_cells(cell_domains)
        sensitivity = rules.sensitivity(measure, bounds, clamp)
        # A sum spends half on the count suppression needs, half on the sum itself.
        share = epsilon / 2 if measure is Measure.SUM else epsilon
        scale = rules.noise_scale(sensitivity, share)
        columns = {d: settings.dimensions[d].column or d for d in {*dimensions, *where}}
        table = system.tables.get(TABLE)
        categories = [IDENTITY_CATEGORIES[IdentityKind.COOKIE_ID]]
        for used in [*columns.values(), *([column] if column else [])]:
            if table is not None and used in table.columns:
                categories.append(table.columns[used].category)
        return ReleasePlan(
            dataset=request.dataset,
            env=system.connection_env,
            measure=measure,
            dimensions=dimensions,
            names=names,
            where=where,
            domains=domains,
            columns=columns,
            column=column,
            clamp=clamp,
            edges=edges,
            cells=cells,
            bounds=bounds,
            epsilon=epsilon,
            sensitivity=sensitivity,
            scale=scale,
            count_scale=rules.noise_scale(
                float(bounds.rows_per_cell * bounds.cells_per_person), share
            ),
            categories=list(dict.fromkeys(categories)),
        )

    def _recipient(self, given: str) -> tuple[str, str]:
        """The register's recipient key and name: a manifest recipient, or a third party
        named here (only where the policy says aggregate statistics are shared with third
        parties; a processor or affiliate of the manifest may always receive them)."""
        name = printable(given or "", "recipient").strip()
        if not name:
            raise InvalidValue("recipient: the manifest recipient, or the third party's name")
        if len(name) > 200:
            raise InvalidValue("recipient: at most 200 characters")
        declared = self.manifest.recipients.get(name)
        shares = self.manifest.policy.shares_aggregate_statistics
        outside = {RecipientKind.THIRD_PARTY, RecipientKind.PUBLIC}
        if declared is not None and (declared.kind not in outside or shares):
            return name, declared.name
        if not shares:
            raise InvalidInput(
                "recipient: the policy does not say aggregate statistics are shared with third "
                "parties (policy.shares_aggregate_statistics)",
                code="undeclared_disclosure",
            )
        return NAMED_THIRD_PARTY, name

    def _root(self, plan: ReleasePlan) -> Path:
        environ = os.environ if self._environ is None else self._environ
        url = environ.get(plan.env or "")
        if not url:
            raise InvalidInput(
                f"dataset: the environment variable {plan.env} is not set", code="system_unset"
            )
        path = urlparse(url).path if url.startswith("file://") else url
        return Path(path)

    def files(self, plan: ReleasePlan) -> list[str]:
        """The dataset's visible Parquet files (temporary and hidden ones skipped)."""
        root = self._root(plan) / TABLE
        return sorted(
            str(p)
            for p in root.glob("day=*/bucket=*/*.parquet")
            if not any(is_hidden(part) for part in p.relative_to(root).parts)
        )

    def _aggregate(self, plan: ReleasePlan) -> tuple[dict[Cell, int], dict[Cell, float]]:
        """The bounded true aggregates per present cell (counts, and sums for a sum)."""
        files = self.files(plan)
        if not files:
            return {}, {}
        return bounded_aggregates(plan, files, self._salt(plan.dataset))

    def _salt(self, dataset: str) -> str:
        # A keyed hash under the master key, of a kind no identity has: secret and stable.
        return self.store.vault.lookup_hash("statistics-salt", dataset).hex()

    def _noisy(
        self, plan: ReleasePlan, counts: dict[Cell, int], sums: dict[Cell, float]
    ) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
        k = self.manifest.statistics.k
        noisy_counts = laplace_int([counts.get(c, 0) for c in plan.cells], plan.count_scale)
        kept = rules.suppress(dict(zip(plan.cells, map(float, noisy_counts), strict=True)), k)
        cells: list[dict[str, Any]] = []
        margins: dict[str, Any] = {}
        suppressed = sum(1 for v in kept.values() if v is None)
        if plan.measure is Measure.SUM:
            noisy_sums = laplace_float([sums.get(c, 0.0) for c in plan.cells], plan.scale)
            released_sums = {
                c: (None if kept[c] is None else round(s, 2))
                for c, s in zip(plan.cells, noisy_sums, strict=True)
            }
            for cell in plan.cells:
                entry: dict[str, Any] = dict(zip(plan.names, cell, strict=True))
                count = kept[cell]
                entry["count"] = None if count is None else int(count)
                entry["sum"] = released_sums[cell]
                cells.append(entry)
            margins = {
                "count": rules.margins(kept, plan.names),
                "sum": rules.margins(released_sums, plan.names),
            }
        else:
            for cell in plan.cells:
                entry = dict(zip(plan.names, cell, strict=True))
                value = kept[cell]
                entry["value"] = None if value is None else int(value)
                cells.append(entry)
            margins = rules.margins(kept, plan.names)
        return cells, _integral(margins), suppressed


def _identifier(name: str) -> bool:
    return name.isascii() and name.replace("_", "a").isalnum() and name[0].isalpha()


def _integral(value: Any) -> Any:
    """Margins of counts as whole numbers (JSON readers need not see 12.0)."""
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
