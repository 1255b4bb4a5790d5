"""The SQL connector: rights requests reaching a database by SQLAlchemy URL (GDPR Art. 15-17).

A person's rows are found by walking the system's tables parents first: a row is theirs if one
of its identity columns matches one of their identities (emails case-insensitively, everything
else exactly), or if one of its relation columns points at a row of theirs already found in the
parent table. Relations are followed downwards only (parent to child): a product registration
found by a device serial does not make the customer who registered it the person, since devices
are resold. Each table costs one SELECT per identity set, however many rows the person has.

Only the columns the manifest declares are ever changed; primary keys and relation columns keep
the rows in place, so that a table under a legal hold keeps its records intact.

    CharterError
    └── ConnectorError         system_key and table (or None) name where it failed
        ├── SystemUnavailable  system_unavailable: the database could not be reached; retry
        └── SchemaMismatch     system_schema: a table or column the manifest declares is missing,
                               or a constraint refused an erasure the manifest describes
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from charter.domain.categories import covered_by_any
from charter.domain.errors import CharterError, InvalidInput, InvalidValue, ManifestError
from charter.manifest.models import ConnectorKind, ErasureAction, IdentityKind, LegalHold, System
from charter.storage.store import checkpoint

Identities = Mapping[str, Sequence[str]]
"""Identity kind (``email``, ``phone``, ``account_id``, ``cookie_id``, ``device_serial``) to
the person's values of it."""

MASK = "[erased]"
"""What a masked string column holds after erasure."""


class ConnectorError(CharterError):
    code = "connector_error"

    def __init__(self, message: str, *, system_key: str, table: str | None) -> None:
        super().__init__(message)
        self.system_key = system_key
        self.table = table


class SystemUnavailable(ConnectorError):
    code = "system_unavailable"


class SchemaMismatch(ConnectorError):
    code = "system_schema"


@dataclass(frozen=True, slots=True)
class TableRows:
    """The person's rows of one table (JSON-safe values) and their primary keys."""

    table: str
    rows: list[dict[str, Any]]
    keys: list[Any]


@dataclass(frozen=True, slots=True)
class TableOutcome:
    table: str
    rows_deleted: int
    rows_minimised: int
    columns_erased: tuple[str, ...]
    columns_kept: tuple[str, ...]
    hold: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Rectified:
    """One corrected row: the old and new values of the changed columns, for the history."""

    table: str
    key: Any
    old: dict[str, Any]
    new: dict[str, Any]


class SqlConnector:
    """Access (Art. 15), erasure (Art. 17) and rectification (Art. 16) in one SQL system."""

    def __init__(
        self,
        system_key: str,
        system: System,
        engine: Engine,
        legal_holds: Mapping[str, LegalHold],
    ) -> None:
        if system.connector is not ConnectorKind.SQL:
            raise ValueError(f"system '{system_key}' is a {system.connector.value} system")
        self.system_key = system_key
        self.system = system
        self.engine = engine
        self.legal_holds = legal_holds
        self._order = _parents_first(system_key, system)
        for key, table in system.tables.items():
            if table.legal_hold is not None and table.legal_hold not in legal_holds:
                raise ManifestError(
                    [f"systems.{system_key}.tables.{key}: no legal hold '{table.legal_hold}'"]
                )
        self._reflected: dict[str, sa.Table] = {}

    def tables(self) -> list[str]:
        """The traversal order: every table after the tables its relations point at."""
        return list(self._order)

    def collect(self, identities: Identities) -> dict[str, list[dict[str, Any]]]:
        """Every row of the person in every table, all columns (the copy of Art. 15(3))."""
        found: dict[str, Sequence[Any]] = {}
        collected: dict[str, list[dict[str, Any]]] = {}
        with self._guard(None), self.engine.connect() as connection:
            for table in self._order:
                rows = self._select(connection, table, identities, found)
                found[table], collected[table] = rows.keys, rows.rows
        return collected

    def count(self, table: str, distinct: str | None = None) -> int:
        """How many rows ``table`` holds or, with ``distinct`` (a declared column), how many
        different values that column holds besides null: the size of a breach (GDPR Art.
        33(3)(a)), counted without reading a row."""
        if table not in self.system.tables:
            raise InvalidInput(f"table '{table}' is not declared in system '{self.system_key}'")
        with self._guard(table), self.engine.connect() as connection:
            reflected = self._table(connection, table)
            counted = (
                sa.func.count(sa.distinct(reflected.c[distinct]))
                if distinct is not None
                else sa.func.count()
            )
            return int(connection.scalar(sa.select(counted).select_from(reflected)) or 0)

    def collect_table(
        self, table: str, identities: Identities, found_keys: Mapping[str, Sequence[Any]]
    ) -> TableRows:
        """One step of ``collect``: the person's rows of ``table`` given the primary keys found
        so far in the tables before it (``found_keys``, table to keys), so that a caller can
        persist each step and resume after a crash."""
        if table not in self.system.tables:
            raise InvalidInput(f"table '{table}' is not declared in system '{self.system_key}'")
        with self._guard(table), self.engine.connect() as connection:
            return self._select(connection, table, identities, found_keys)

    def erase(self, identities: Identities) -> list[TableOutcome]:
        """Erase the person from the system in one transaction (Art. 17); outcomes in
        ``tables()`` order.

        Rows are found parents first and changed children first, so no foreign key ever points
        at a deleted row. A table with a ``delete_row`` column loses the person's rows; any other
        table has its declared columns nulled or masked. A table under a legal hold (Art.
        17(3)(b)) keeps its rows and the columns whose category the hold covers, and erases the
        rest (``delete_row`` acting as ``null``). A row that a kept child row still points at is
        minimised instead of deleted. Running it again changes nothing more. On a SQLite file,
        the WAL is checkpointed afterwards (``charter.storage.store.checkpoint``), so that the
        old images of the changed pages do not outlive the erasure there.
        """
        found: dict[str, Sequence[Any]] = {}
        rows: dict[str, list[dict[str, Any]]] = {}
        # referenced[parent][child]: keys of parent rows that kept rows of child point at.
        referenced: dict[str, dict[str, set[Any]]] = {table: {} for table in self._order}
        outcomes: dict[str, TableOutcome] = {}
        with self._guard(None), self.engine.begin() as connection:
            for table in self._order:
                selected = self._select(connection, table, identities, found, lock=True)
                found[table], rows[table] = selected.keys, selected.rows
            for table in reversed(self._order):
                outcomes[table] = self._erase_table(connection, table, rows[table], referenced)
        checkpoint(self.engine)
        return [outcomes[table] for table in self._order]

    def rectify(
        self, identities: Identities, changes: Mapping[str, Mapping[str, Any]]
    ) -> list[Rectified]:
        """Correct the person's rows (Art. 16): ``changes`` maps a table to {column: new value}.
        Only declared columns may change; all rows change in one transaction."""
        for table, columns in changes.items():
            spec = self.system.tables.get(table)
            if spec is None:
                raise InvalidInput(f"table '{table}' is not declared in system '{self.system_key}'")
            for column in columns:
                if column not in spec.columns:
                    raise InvalidInput(
                        f"column '{table}.{column}' is not declared in system '{self.system_key}'"
                    )
        needed = self._with_parents(changes)
        found: dict[str, Sequence[Any]] = {}
        rectified: list[Rectified] = []
        with self._guard(None), self.engine.begin() as connection:
            rows: dict[str, list[dict[str, Any]]] = {}
            for table in (t for t in self._order if t in needed):
                selected = self._select(connection, table, identities, found, lock=True)
                found[table], rows[table] = selected.keys, selected.rows
            for table, columns in changes.items():
                if not rows[table] or not columns:
                    continue
                primary_key = self.system.tables[table].primary_key
                reflected = self._table(connection, table)
                key_column = reflected.c[primary_key]
                statement = (
                    reflected.update()
                    .where(key_column.in_(_typed(key_column, found[table])))
                    .values(dict(columns))
                )
                with self._guard(table):
                    try:
                        connection.execute(statement)
                    except (exc.IntegrityError, exc.DataError) as error:
                        raise InvalidValue(
                            f"the database refused a new value for table '{table}'"
                        ) from error
                new = {name: _json_safe(value) for name, value in columns.items()}
                rectified += [
                    Rectified(table, row[primary_key], {c: row[c] for c in columns}, new)
                    for row in rows[table]
                ]
        return rectified

    # ---- internals ---------------------------------------------------------------------------

    def _select(
        self,
        connection: Connection,
        table: str,
        identities: Identities,
        found_keys: Mapping[str, Sequence[Any]],
        *,
        lock: bool = False,
    ) -> TableRows:
        spec = self.system.tables[table]
        reflected = self._table(connection, table)
        matches: list[sa.ColumnElement[bool]] = []
        for name, kind in spec.identities.items():
            column = reflected.c[name]
            values = [value for value in identities.get(kind.value, ()) if value]
            if kind is IdentityKind.EMAIL:
                # The database's lower() on both sides: SQLite folds ASCII only, so lowering in
                # Python could miss an address stored exactly as given.
                lowered = [sa.func.lower(value.strip()) for value in sorted(set(values))]
                if lowered:
                    matches.append(sa.func.lower(column).in_(lowered))
            elif typed := _typed(column, values):
                matches.append(column.in_(typed))
        for relation in spec.relations:
            parent = relation.references.split(".", 1)[0]
            column = reflected.c[relation.column]
            if typed := _typed(column, found_keys.get(parent, ())):
                matches.append(column.in_(typed))
        if not matches:  # nothing to look for: no statement at all
            return TableRows(table, [], [])
        primary_key = reflected.c[spec.primary_key]
        statement = sa.select(reflected).where(sa.or_(*matches)).order_by(primary_key)
        if lock:  # keep the rows still until the transaction ends (ignored by SQLite)
            statement = statement.with_for_update()
        with self._guard(table):
            result = connection.execute(statement).mappings().all()
        rows = [{key: _json_safe(value) for key, value in row.items()} for row in result]
        return TableRows(table, rows, [row[spec.primary_key] for row in rows])

    def _erase_table(
        self,
        connection: Connection,
        table: str,
        rows: list[dict[str, Any]],
        referenced: dict[str, dict[str, set[Any]]],
    ) -> TableOutcome:
        spec = self.system.tables[table]
        hold = self.legal_holds[spec.legal_hold] if spec.legal_hold is not None else None
        relation_columns = {relation.column for relation in spec.relations}
        kept = tuple(
            name
            for name, column in spec.columns.items()
            if hold is not None
            # A held row keeps its link to its parent: the record must stay whole.
            and (covered_by_any(column.category, hold.categories) or name in relation_columns)
        )
        reflected = self._table(connection, table)
        erased = {
            name: _erased_value(reflected.c[name], column.erasure, name in relation_columns)
            for name, column in spec.columns.items()
            if name not in kept
        }
        primary_key = spec.primary_key
        deletes = hold is None and any(
            column.erasure is ErasureAction.DELETE_ROW for column in spec.columns.values()
        )
        pinned = set().union(*referenced[table].values())
        doomed = [row[primary_key] for row in rows if deletes and row[primary_key] not in pinned]
        gone = set(doomed)
        survivors = [row for row in rows if row[primary_key] not in gone]
        changed = [
            row[primary_key]
            for row in survivors
            if any(row[name] != value for name, value in erased.items())
        ]
        for relation in spec.relations:
            if relation.column not in erased:  # survivors still point at their parent rows
                parent = relation.references.split(".", 1)[0]
                keys = {row[relation.column] for row in survivors} - {None}
                referenced[parent].setdefault(table, set()).update(keys)
        key_column = reflected.c[primary_key]
        with self._guard(table):
            if doomed:
                connection.execute(
                    reflected.delete().where(key_column.in_(_typed(key_column, doomed)))
                )
            if changed:
                connection.execute(
                    reflected.update()
                    .where(key_column.in_(_typed(key_column, changed)))
                    .values(erased)
                )
        return TableOutcome(
            table=table,
            rows_deleted=len(doomed),
            rows_minimised=len(changed),
            columns_erased=tuple(erased) if changed else (),
            columns_kept=kept if survivors else (),
            hold=hold.key if hold is not None and survivors else None,
            reason=_reason(rows, doomed, changed, deletes, hold, kept, referenced[table]),
        )

    def _table(self, connection: Connection, table: str) -> sa.Table:
        """The reflected table, checked against the manifest once per connector."""
        if table in self._reflected:
            return self._reflected[table]
        spec = self.system.tables[table]
        try:
            with self._guard(table):
                reflected = sa.Table(
                    table, sa.MetaData(), autoload_with=connection, resolve_fks=False
                )
        except exc.NoSuchTableError as error:
            raise SchemaMismatch(
                f"system '{self.system_key}' has no table '{table}'",
                system_key=self.system_key,
                table=table,
            ) from error
        needed = [spec.primary_key, *spec.identities, *spec.columns]
        needed += [relation.column for relation in spec.relations]
        missing = [name for name in needed if name not in reflected.c]
        if missing:
            raise SchemaMismatch(
                f"table '{table}' of system '{self.system_key}' has no column "
                + ", ".join(f"'{name}'" for name in missing),
                system_key=self.system_key,
                table=table,
            )
        self._reflected[table] = reflected
        return reflected

    def _with_parents(self, tables: Iterable[str]) -> set[str]:
        """The tables and every table their relations lead to: what finding their rows needs."""
        needed: set[str] = set()
        pending = list(tables)
        while pending:
            table = pending.pop()
            if table not in needed:
                needed.add(table)
                relations = self.system.tables[table].relations
                pending += [relation.references.split(".", 1)[0] for relation in relations]
        return needed

    @contextmanager
    def _guard(self, table: str | None) -> Iterator[None]:
        """Database errors as connector errors naming the system and table, never swallowed;
        messages carry no database text, which may quote personal data."""
        where = f"system '{self.system_key}'" + (f", table '{table}'" if table else "")
        try:
            yield
        except (exc.OperationalError, exc.InterfaceError) as error:
            raise SystemUnavailable(
                f"{where} is unavailable ({type(error.orig).__name__})",
                system_key=self.system_key,
                table=table,
            ) from error
        except (exc.ProgrammingError, exc.IntegrityError, exc.DataError) as error:
            raise SchemaMismatch(
                f"{where} does not match the manifest ({type(error.orig).__name__})",
                system_key=self.system_key,
                table=table,
            ) from error


def _parents_first(system_key: str, system: System) -> list[str]:
    """Tables in manifest order, each moved after the tables its relations reference."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(table: str) -> None:
        if state.get(table) == "done":
            return
        where = f"systems.{system_key}.tables.{table}"
        if state.get(table) == "open":
            raise ManifestError([f"{where}: relations form a cycle"])
        state[table] = "open"
        for relation in system.tables[table].relations:
            parent, column = relation.references.split(".", 1)
            if parent not in system.tables or column != system.tables[parent].primary_key:
                raise ManifestError(
                    [f"{where}: '{relation.references}' is not a declared table's primary key"]
                )
            visit(parent)
        state[table] = "done"
        order.append(table)

    for table in system.tables:
        visit(table)
    return order


def _typed(column: sa.Column[Any], values: Sequence[Any]) -> list[Any]:
    """Values as the column's Python type; values that cannot be one match nothing (an account
    id ``abc`` is nobody's in an integer column, and must not make the database raise)."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return list(values)
    typed: list[Any] = []
    for value in values:
        try:
            typed.append(_parse(kind, value))
        except (TypeError, ValueError):
            continue
    return typed


def _parse(kind: type, value: Any) -> Any:
    if kind is int:
        number = int(value)
        if not -(2**63) <= number < 2**63:  # beyond any SQL integer column
            raise ValueError("out of range")
        return number
    if kind is str:
        return str(value)
    if kind is uuid.UUID and not isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    return value


def _erased_value(column: sa.Column[Any], erasure: ErasureAction, relation: bool) -> Any:
    """The mask for string columns wide enough to hold it; null for everything else (a relation
    column too: a mask would point at no row)."""
    if erasure is not ErasureAction.MASK or relation:
        return None
    try:
        is_text = column.type.python_type is str
    except NotImplementedError:
        is_text = False
    length = getattr(column.type, "length", None)
    return MASK if is_text and (length is None or length >= len(MASK)) else None


def _reason(
    rows: list[dict[str, Any]],
    doomed: list[Any],
    changed: list[Any],
    deletes: bool,
    hold: LegalHold | None,
    kept: tuple[str, ...],
    referenced: dict[str, set[Any]],
) -> str:
    if not rows:
        return "no rows of the person"
    parts: list[str] = []
    if doomed:
        parts.append(f"{_count(len(doomed))} deleted")
    if hold is not None:
        law = " ".join(hold.law.split())
        parts.append(
            f"rows kept under legal hold '{hold.key}' for {hold.period} ({law}); "
            f"columns kept: {', '.join(kept) or 'none'}"
        )
    survivors = len(rows) - len(doomed)
    if survivors and deletes:
        children = ", ".join(sorted(child for child, keys in referenced.items() if keys))
        parts.append(
            f"{_count(survivors)} kept, not deleted: kept rows of {children} refer to them"
        )
    if survivors:
        parts.append(f"{_count(len(changed))} minimised" if changed else "rows already minimised")
    return "; ".join(parts)


def _count(rows: int) -> str:
    return f"{rows} row" if rows == 1 else f"{rows} rows"


def _json_safe(value: Any) -> Any:
    """A database value as JSON can carry it: times ISO 8601, decimals and UUIDs as text,
    bytes as base64."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, Decimal | uuid.UUID | dt.timedelta):
        return str(value)
    return str(value)
