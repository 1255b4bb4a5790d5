"""Who a breach concerns: the people and records of the categories involved, per system.

- **Charter's own store** (system ``charter``): the subjects holding a collected value or an
  identity of a category involved (``user.contact`` covers ``user.contact.email``; identities
  are personal data too, each kind of its category); records are those values and identities.
- **A connected SQL system**: the rows of every table with a column (or an identity column) of
  those categories. People: a table with identity columns counts its rows; a table whose rows
  hang off another's (orders of customers) counts the distinct rows it points at; the system,
  the largest of these (its tables hold the same people).
- **Any other system**, or a SQL system not connected here: "unknown", never guessed.

Across systems the numbers are added: a person held in two systems counts twice, so the
approximation (Art. 33(3)(a) asks for one) errs on the side of more. Only counts leave here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, union

from charter.connectors.sql import ConnectorError, SqlConnector
from charter.domain.breaches import CHARTER_SYSTEM
from charter.domain.categories import covered_by_any
from charter.domain.clock import Clock
from charter.manifest.models import IDENTITY_CATEGORIES, ConnectorKind, IdentityKind, Manifest
from charter.storage.store import Store
from charter.storage.tables import identities, personal_values

NOT_CONNECTED = "unknown: not connected"
NO_CONNECTOR = "unknown: no connector (count by hand)"
UNAVAILABLE = "unknown: unavailable"
COUNTED = "counted"

ConnectorFor = Callable[[str], SqlConnector | None]
"""An external SQL system's connector, or ``None`` when it is not connected here."""


@dataclass(frozen=True)
class SystemCount:
    system: str
    status: str
    """``counted``, or why not: ``unknown: not connected``, ``unknown: unavailable`` ..."""
    people: int | None
    records: int | None
    tables: dict[str, int] = field(default_factory=dict)
    """Rows per table concerned (for Charter's store: values and identities)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "status": self.status,
            "people": self.people,
            "records": self.records,
            "tables": self.tables,
        }


@dataclass(frozen=True)
class Affected:
    counted_at: dt.datetime
    people: int
    """The people counted (the systems not counted aside): the register's ``affected_count``."""
    records: int
    complete: bool
    """Whether every system involved was counted."""
    systems: list[SystemCount]

    def as_json(self) -> dict[str, Any]:
        return {
            "counted_at": self.counted_at.isoformat(),
            "people": self.people,
            "records": self.records,
            "complete": self.complete,
            "systems": [count.as_json() for count in self.systems],
        }


class AffectedCounter:
    def __init__(
        self, manifest: Manifest, store: Store, clock: Clock, connector_for: ConnectorFor
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.connector_for = connector_for

    def count(self, systems: Sequence[str], categories: Sequence[str]) -> Affected:
        """The people and records concerned, per system (see the module docstring)."""
        counts = [
            self._count_own(categories) if key == CHARTER_SYSTEM else self._count(key, categories)
            for key in systems
        ]
        return Affected(
            counted_at=self.clock(),
            people=sum(c.people or 0 for c in counts),
            records=sum(c.records or 0 for c in counts),
            complete=all(c.status == COUNTED for c in counts),
            systems=counts,
        )

    def _own_filters(self, categories: Sequence[str]) -> tuple[list[str], list[str]]:
        """The value categories and identity kinds of Charter's store a breach concerns."""
        with self.store.read() as connection:
            stored = list(connection.scalars(select(personal_values.c.category).distinct()))
        values = [c for c in stored if covered_by_any(c, categories)]
        kinds = [
            kind.value
            for kind, category in IDENTITY_CATEGORIES.items()
            if covered_by_any(category, categories)
        ]
        return values, kinds

    def subjects(self, categories: Sequence[str]) -> Any:
        """A query of the subjects concerned (column ``subject_id``), or ``None`` for none."""
        values, kinds = self._own_filters(categories)
        parts = []
        if values:
            parts.append(
                select(personal_values.c.subject_id).where(personal_values.c.category.in_(values))
            )
        if kinds:
            parts.append(select(identities.c.subject_id).where(identities.c.kind.in_(kinds)))
        if not parts:
            return None
        # UNION (not UNION ALL): each subject once.
        return union(*parts).subquery() if len(parts) > 1 else parts[0].distinct().subquery()

    def _count_own(self, categories: Sequence[str]) -> SystemCount:
        values, kinds = self._own_filters(categories)
        subjects = self.subjects(categories)
        with self.store.read() as connection:
            value_rows = identity_rows = people = 0
            if values:
                value_rows = int(
                    connection.scalar(
                        select(func.count()).where(personal_values.c.category.in_(values))
                    )
                    or 0
                )
            if kinds:
                identity_rows = int(
                    connection.scalar(select(func.count()).where(identities.c.kind.in_(kinds))) or 0
                )
            if subjects is not None:
                people = int(connection.scalar(select(func.count()).select_from(subjects)) or 0)
        return SystemCount(
            CHARTER_SYSTEM,
            COUNTED,
            people,
            value_rows + identity_rows,
            {"personal_values": value_rows, "identities": identity_rows},
        )

    def _count(self, key: str, categories: Sequence[str]) -> SystemCount:
        system = self.manifest.systems[key]
        if system.connector is not ConnectorKind.SQL:
            return SystemCount(key, NO_CONNECTOR, None, None)
        connector = self.connector_for(key)
        if connector is None:
            return SystemCount(key, NOT_CONNECTED, None, None)
        tables: dict[str, int] = {}
        people = 0
        try:
            for name, table in system.tables.items():
                held = [column.category for column in table.columns.values()]
                held += [IDENTITY_CATEGORIES[IdentityKind(k)] for k in table.identities.values()]
                if not any(covered_by_any(category, categories) for category in held):
                    continue
                tables[name] = connector.count(name)
                if table.identities or not table.relations:
                    in_table = tables[name]
                else:
                    # A table of rows that belong to another's (orders of customers): its
                    # people are the distinct parents it points at.
                    in_table = connector.count(name, distinct=table.relations[0].column)
                people = max(people, in_table)
        except ConnectorError as error:
            return SystemCount(key, f"{UNAVAILABLE} ({error.code})", None, None)
        return SystemCount(key, COUNTED, people, sum(tables.values()), tables)
