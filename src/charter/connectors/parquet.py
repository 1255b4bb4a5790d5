"""The Parquet connector: rights requests reaching a data lake of Parquet files (GDPR Art. 15-17).

A ``parquet`` system is a directory (its ``connection_env`` holds a path or a ``file://`` URL)
with one folder per declared table, laid out as ``charter.domain.lake`` says:
``<root>/<table>/day=YYYY-MM-DD/bucket=NN/<uuid4>.parquet``, where ``NN`` is the bucket of the
row's cookie id (``bucket_of``). Names starting with ``.`` or ``_`` are never read.

Finding a person's files. A row is the person's if one of the table's identity columns holds one
of their identifiers (exact match). For the cookie id column, only the files under the buckets of
the person's cookie ids can hold them (one folder per day): nothing else is read. Other
identities (an account id) are not bucketed: one pass reads that column alone (projection
pushdown; Parquet row-group statistics skip what cannot match) and lists the files holding the
value. Access then reads the person's rows from those files only.

Erasing. The table's erasure actions apply as in the SQL connector: a ``delete_row`` column drops
the person's rows; otherwise the declared columns are nulled or masked in them (a table under a
legal hold keeps its rows and the columns the hold covers). Only the files holding the person
are rewritten, each one on its own: the new content is written to ``.<uuid4>.parquet.tmp`` in
the file's folder, flushed to disk (fsync), then renamed over the original (``os.replace``,
atomic on one filesystem; the folder is fsynced after); a file left with no row is deleted.
Readers thus see each file either whole and old or whole and new, never half written. A
failure or a crash between two files leaves some files rewritten and the others as they were:
the dataset stays readable and complete, and the step, kept pending by the rights runner, runs
again until it is done; a second run finds nothing more to change (idempotent). Temporary files
are removed when a rewrite fails; those a killed process left behind (older than an hour) are
removed by the next erasure in their folder.

Correcting (Art. 16). ``rectify`` sets the named declared columns to their new values in the
person's rows, through the same rewrite: only the files holding a row of theirs whose value
differs are rewritten, the other rows and the row count of every file stay as they were, and a
second run changes nothing. A new value must fit the column's type in the files (text in a
string column; a number, a time or a boolean cast exactly), or the step fails naming the column
(``InvalidValue``), nothing changed. The old and new values come back as ``Rectified`` rows (the
SQL connector's), sealed by the rights runner; they are never logged.

Engines. The queries and rewrites run on a ``LakeEngine``: DuckDB in this process (the default)
or Apache Spark (``charter.connectors.spark``) when ``CHARTER_LAKE_ENGINE=spark``; both give the
same rows and the same files.

    ConnectorError (charter.connectors.sql)
    ├── SystemUnavailable    system_unavailable: the lake directory does not exist
    └── EngineUnavailable    lake_engine_unavailable: the configured engine cannot start here
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from charter.connectors.sql import (
    MASK,
    ConnectorError,
    Identities,
    Rectified,
    SchemaMismatch,
    SystemUnavailable,
    TableRows,
    _json_safe,
)
from charter.domain.categories import covered_by_any
from charter.domain.errors import InvalidInput, InvalidValue, ManifestError
from charter.domain.lake import bucket_of, is_hidden
from charter.manifest.models import ConnectorKind, ErasureAction, IdentityKind, LegalHold, System

ENGINE_VARIABLE = "CHARTER_LAKE_ENGINE"
"""``duckdb`` (default) or ``spark``: which engine runs the lake's queries and rewrites."""
SPARK_MASTER_VARIABLE = "CHARTER_SPARK_MASTER"
"""The Spark master URL when the engine is Spark (default ``local[2]``)."""
LOCK_FILE = ".charter-erasure.lock"
STALE_TEMP_SECONDS = 3600.0
"""A temporary file older than this was left by a process that died: no write takes an hour."""

_BUCKET = re.compile(r"^bucket=(\d+)$")

Match = Mapping[str, Sequence[str]]
"""Identity column to the person's values in it (any one matching makes the row theirs)."""


class EngineUnavailable(ConnectorError):
    code = "lake_engine_unavailable"


@dataclass(frozen=True, slots=True)
class Tally:
    """One file's rows: in all, the person's, and the person's that erasure would change."""

    rows: int
    matching: int
    changing: int


@dataclass(frozen=True, slots=True)
class Erasure:
    """What a rewrite does to a person's rows: drop them, or set ``values`` in them (column to
    the null or the mask of an erasure, or to the new value of a correction)."""

    deletes: bool
    values: Mapping[str, Any]


class LakeEngine(Protocol):
    """What the connector needs of a query engine. Paths are absolute local paths."""

    name: str

    def files_holding(self, files: Sequence[str], column: str, values: Sequence[str]) -> set[str]:
        """The files among ``files`` with a row whose ``column`` holds one of ``values``,
        reading that column alone."""
        ...

    def select(self, files: Sequence[str], match: Match) -> list[dict[str, Any]]:
        """The matching rows of ``files``, all columns, as Python values."""
        ...

    def tally(self, files: Sequence[str], match: Match, erasure: Erasure) -> dict[str, Tally]:
        """Per file of ``files`` that has matching rows: its counts."""
        ...

    def rewrite(
        self, jobs: Sequence[tuple[str, str]], match: Match, erasure: Erasure, scratch: str
    ) -> None:
        """For each (source, target): write ``target`` (a new Parquet file, same columns) with
        the source's rows after erasure. Never touches ``source``; may use the folder
        ``scratch`` (hidden, on the lake's filesystem, removed by the caller)."""
        ...


@dataclass(frozen=True, slots=True)
class LakeOutcome:
    """What erasure did in one table (no personal data)."""

    table: str
    rows_deleted: int
    rows_minimised: int
    columns_erased: tuple[str, ...]
    columns_kept: tuple[str, ...]
    hold: str | None
    files_read: int
    files_rewritten: int
    files_deleted: int
    reason: str


def lake_root(variable: str) -> Path:
    """The lake directory from the environment variable the manifest names: a path or a
    ``file://`` URL (other schemes, such as ``s3://``, are refused: renames there are not
    atomic)."""
    url = os.environ.get(variable)
    if not url:
        raise InvalidInput(f"the environment variable {variable} is not set", code="system_unset")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput(f"{variable}: a file:// URL names no host", code="system_url")
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:  # a one-letter "scheme" is a Windows drive
        raise InvalidInput(
            f"{variable}: only a directory path or a file:// URL is supported, not "
            f"'{parts.scheme}://'",
            code="system_url",
        )
    return Path(url)


def engine_from_env() -> LakeEngine:
    """The engine ``CHARTER_LAKE_ENGINE`` names (``duckdb`` when unset)."""
    name = os.environ.get(ENGINE_VARIABLE, "duckdb").strip().lower() or "duckdb"
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        from charter.connectors.spark import SparkEngine

        return SparkEngine.start(os.environ.get(SPARK_MASTER_VARIABLE, "local[2]"))
    raise InvalidInput(
        f"{ENGINE_VARIABLE} must be duckdb or spark, not '{name}'", code="lake_engine"
    )


class ParquetConnector:
    """Access (Art. 15), rectification (Art. 16) and erasure (Art. 17) in a lake of Parquet
    files."""

    def __init__(
        self,
        system_key: str,
        system: System,
        root: Path,
        engine: LakeEngine,
        legal_holds: Mapping[str, LegalHold],
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        if system.connector is not ConnectorKind.PARQUET:
            raise ValueError(f"system '{system_key}' is a {system.connector.value} system")
        for key, table in system.tables.items():
            if table.legal_hold is not None and table.legal_hold not in legal_holds:
                raise ManifestError(
                    [f"systems.{system_key}.tables.{key}: no legal hold '{table.legal_hold}'"]
                )
        self.system_key = system_key
        self.system = system
        self.root = root
        self.engine = engine
        self.legal_holds = legal_holds
        self._now = now

    def tables(self) -> list[str]:
        return list(self.system.tables)

    def collect_table(
        self, table: str, identities: Identities, found_keys: Mapping[str, Sequence[Any]]
    ) -> TableRows:
        """The person's rows of ``table`` (all columns, JSON-safe), ordered by primary key when
        the table has that column. ``found_keys`` is accepted for the SQL connector's interface:
        lake tables have no relations."""
        del found_keys
        match = self._match(table, identities)
        files = self._files_of(table, match)
        if not files:
            return TableRows(table, [], [])
        with self._guard(table):
            self._check_columns(table, files[0])
            rows = [
                {key: _json_safe(value) for key, value in row.items()}
                for row in self.engine.select(files, match)
            ]
        primary_key = self.system.tables[table].primary_key
        if rows and primary_key in rows[0]:
            rows.sort(key=lambda row: str(row[primary_key]))
            return TableRows(table, rows, [row[primary_key] for row in rows])
        return TableRows(table, rows, [])

    def collect(self, identities: Identities) -> dict[str, list[dict[str, Any]]]:
        return {table: self.collect_table(table, identities, {}).rows for table in self.tables()}

    def erase(self, identities: Identities) -> list[LakeOutcome]:
        """Erase the person from every table (see the module docstring); outcomes in manifest
        order. Erasures of one lake run one at a time (a lock file in its root, for every
        process of this machine or sharing the mount): two rewriting the same file at once
        would each write back the other's person."""
        if not self.root.is_dir():
            raise SystemUnavailable(
                f"system '{self.system_key}': the lake directory does not exist",
                system_key=self.system_key,
                table=None,
            )
        with _locked(self.root / LOCK_FILE):
            return [self._erase_table(table, identities) for table in self.tables()]

    def rectify(
        self, identities: Identities, changes: Mapping[str, Mapping[str, Any]]
    ) -> list[Rectified]:
        """Correct the person's rows (Art. 16): ``changes`` maps a table to {column: new value}
        (see the module docstring). Only declared columns may change, never the bucketed cookie
        id column (the row would sit in another's bucket); the lake's lock is held throughout, as
        for an erasure."""
        for table, columns in changes.items():
            spec = self.system.tables.get(table)
            if spec is None:
                raise InvalidInput(f"table '{table}' is not declared in system '{self.system_key}'")
            for column in columns:
                if column not in spec.columns or spec.identities.get(column) is (
                    IdentityKind.COOKIE_ID
                ):
                    raise InvalidInput(
                        f"column '{table}.{column}' of system '{self.system_key}' cannot be "
                        "corrected"
                    )
        if not self.root.is_dir():
            raise SystemUnavailable(
                f"system '{self.system_key}': the lake directory does not exist",
                system_key=self.system_key,
                table=None,
            )
        with _locked(self.root / LOCK_FILE):
            return [
                row
                for table, columns in changes.items()
                if columns
                for row in self._rectify_table(table, identities, columns)
            ]

    # ---- internals ---------------------------------------------------------------------------

    def _rectify_table(
        self, table: str, identities: Identities, columns: Mapping[str, Any]
    ) -> list[Rectified]:
        match = self._match(table, identities)
        files = self._files_of(table, match)
        if not files:
            return []
        with self._guard(table):
            self._check_columns(table, files[0])
            change = Erasure(False, self._typed(table, files[0], columns))
            tallies = self.engine.tally(files, match, change)
            changed = sorted(f for f, t in tallies.items() if t.changing)
            before = self.engine.select(changed, match) if changed else []
        self._replace(table, changed, [], match, change)
        key = self.system.tables[table].primary_key
        new = {name: _json_safe(value) for name, value in change.values.items()}
        return [
            Rectified(
                table,
                _json_safe(row.get(key)),
                {name: _json_safe(row[name]) for name in change.values},
                new,
            )
            for row in before
            if any(row[name] != value for name, value in change.values.items())
        ]

    def _typed(self, table: str, path: str, columns: Mapping[str, Any]) -> dict[str, Any]:
        """The new values as the files' column types hold them; ``InvalidValue`` naming the
        column (never the value) for one that does not fit."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pq.read_schema(path)
        typed: dict[str, Any] = {}
        for name, value in columns.items():
            kind = schema.field(name).type
            # No silent cast across kinds: a number is no time (it would be read as seconds since
            # 1970), a boolean no number; a time is given as ISO 8601 text.
            if pa.types.is_boolean(kind):
                fits = isinstance(value, bool)
            elif (
                pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
            ):
                fits = isinstance(value, int | float) and not isinstance(value, bool)
            else:
                textual = pa.types.is_string(kind) or pa.types.is_large_string(kind)
                fits = isinstance(value, str) and (textual or pa.types.is_temporal(kind))
            try:
                if value is not None and not fits:
                    raise TypeError(name)
                typed[name] = None if value is None else pa.array([value]).cast(kind).to_pylist()[0]
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                raise InvalidValue(
                    f"system '{self.system_key}', table '{table}': the new value of column "
                    f"'{name}' does not fit its type ({kind})"
                ) from None
        return typed

    def _erase_table(self, table: str, identities: Identities) -> LakeOutcome:
        spec = self.system.tables[table]
        hold = self.legal_holds[spec.legal_hold] if spec.legal_hold is not None else None
        kept = tuple(
            name
            for name, column in spec.columns.items()
            if hold is not None and covered_by_any(column.category, hold.categories)
        )
        deletes = hold is None and any(
            column.erasure is ErasureAction.DELETE_ROW for column in spec.columns.values()
        )
        match = self._match(table, identities)
        files = self._files_of(table, match)
        if not files:
            return LakeOutcome(table, 0, 0, (), (), None, 0, 0, 0, "no rows of the person")
        with self._guard(table):
            strings = self._check_columns(table, files[0])
            erasure = Erasure(
                deletes,
                {
                    name: MASK if column.erasure is ErasureAction.MASK and name in strings else None
                    for name, column in spec.columns.items()
                    if name not in kept
                },
            )
            tallies = self.engine.tally(files, match, erasure)
        matching = sum(t.matching for t in tallies.values())
        doomed = [f for f, t in tallies.items() if t.matching and deletes and t.matching == t.rows]
        changed = [
            f
            for f, t in tallies.items()
            if f not in doomed and (t.matching if deletes else t.changing)
        ]
        self._replace(table, changed, doomed, match, erasure)
        deleted = matching if deletes else 0
        minimised = 0 if deletes else sum(tallies[f].changing for f in changed)
        if not matching:
            reason = "no rows of the person"
        elif deletes:
            reason = f"{_rows(deleted)} deleted"
        else:
            reason = f"{_rows(minimised)} minimised" if minimised else "rows already minimised"
            if hold is not None:
                reason += (
                    f"; rows kept under legal hold '{hold.key}' ({' '.join(hold.law.split())})"
                )
        return LakeOutcome(
            table=table,
            rows_deleted=deleted,
            rows_minimised=minimised,
            columns_erased=tuple(erasure.values) if minimised else (),
            columns_kept=kept if matching and not deletes else (),
            hold=hold.key if hold is not None and matching else None,
            files_read=len(files),
            files_rewritten=len(changed),
            files_deleted=len(doomed),
            reason=reason,
        )

    def _replace(
        self,
        table: str,
        changed: Sequence[str],
        doomed: Sequence[str],
        match: Match,
        erasure: Erasure,
    ) -> None:
        """Rewrite the ``changed`` files through temporary files renamed over them one by one,
        and delete the ``doomed`` ones (see the module docstring); nothing stays behind."""
        self._sweep({str(Path(f).parent) for f in [*doomed, *changed]})
        jobs = [(f, str(Path(f).parent / f".{uuid.uuid4()}.parquet.tmp")) for f in changed]
        scratch = self.root / f".charter-{uuid.uuid4()}"
        try:
            with self._guard(table):
                self.engine.rewrite(jobs, match, erasure, str(scratch))
            for source, target in jobs:
                _install(target, source)
            for source in doomed:
                os.unlink(source)
            for folder in {str(Path(f).parent) for f in [*doomed, *changed]}:
                _fsync(folder)
        finally:
            for _, target in jobs:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
            shutil.rmtree(scratch, ignore_errors=True)

    def _check_columns(self, table: str, path: str) -> set[str]:
        """Check a file has every column the manifest declares; returns its string columns (a
        mask fits only there; other columns are nulled)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        spec = self.system.tables[table]
        schema = pq.read_schema(path)
        missing = [c for c in [*spec.identities, *spec.columns] if c not in schema.names]
        if missing:
            raise SchemaMismatch(
                f"table '{table}' of system '{self.system_key}' has no column "
                + ", ".join(f"'{name}'" for name in dict.fromkeys(missing)),
                system_key=self.system_key,
                table=table,
            )
        return {
            f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        }

    def _match(self, table: str, identities: Identities) -> dict[str, list[str]]:
        if table not in self.system.tables:
            raise InvalidInput(f"table '{table}' is not declared in system '{self.system_key}'")
        match: dict[str, list[str]] = {}
        for column, kind in self.system.tables[table].identities.items():
            values = sorted({str(v) for v in identities.get(kind.value, ()) if v})
            if values:
                match[column] = values
        return match

    def _files_of(self, table: str, match: Match) -> list[str]:
        """The files that can hold the person: under the buckets of their cookie ids, plus
        those an identity scan finds for the other identities."""
        if not match:
            return []
        if not self.root.is_dir():
            raise SystemUnavailable(
                f"system '{self.system_key}': the lake directory does not exist",
                system_key=self.system_key,
                table=table,
            )
        identities = self.system.tables[table].identities
        bucketed = next((c for c in match if identities[c] is IdentityKind.COOKIE_ID), None)
        chosen: set[str] = set()
        if bucketed is not None:  # only the person's bucket folders are even listed
            buckets = {bucket_of(value) for value in match[bucketed]}
            chosen |= set(_parquet_files(self.root / table, buckets))
        scanned = [column for column in match if column != bucketed]
        if scanned and (every := list(_parquet_files(self.root / table))):
            with self._guard(table):
                for column in scanned:
                    chosen |= self.engine.files_holding(every, column, match[column])
        return sorted(chosen)

    def _sweep(self, folders: set[str]) -> None:
        """Remove temporary files a killed process left in ``folders`` (never a fresh one: a
        writer may be busy with it)."""
        limit = self._now() - STALE_TEMP_SECONDS
        for folder in folders:
            for entry in os.scandir(folder):
                if entry.name.startswith(".") and entry.name.endswith(".parquet.tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        if entry.stat().st_mtime < limit:
                            os.unlink(entry.path)

    @contextlib.contextmanager
    def _guard(self, table: str | None) -> Iterator[None]:
        """Engine errors as connector errors naming the system and table; the message carries
        the error's type only (engine texts may quote values)."""
        try:
            yield
        except (ConnectorError, InvalidInput):
            raise
        except (OSError, RuntimeError, ValueError) as error:
            raise SystemUnavailable(
                f"system '{self.system_key}', table '{table}': {type(error).__name__} from "
                f"the {self.engine.name} engine",
                system_key=self.system_key,
                table=table,
            ) from error


class DuckDBEngine:
    """The lake engine in this process: DuckDB over the listed files (no hive columns).

    Queries are built from quoted identifiers (manifest keys) and ``?`` parameters for every
    value and path; no value is ever spliced into SQL text (hence the ``S608`` exemptions)."""

    name = "duckdb"

    def files_holding(self, files: Sequence[str], column: str, values: Sequence[str]) -> set[str]:
        marks = ", ".join("?" for _ in values)
        query = (
            f"SELECT DISTINCT filename FROM read_parquet(?, hive_partitioning=false, "  # noqa: S608
            f"filename=true) WHERE {_quote(column)} IN ({marks})"
        )
        with self._connect() as connection:
            rows = connection.execute(query, [list(files), *values]).fetchall()
        return {str(row[0]) for row in rows}

    def select(self, files: Sequence[str], match: Match) -> list[dict[str, Any]]:
        where, params = _where(match)
        query = f"SELECT * FROM read_parquet(?, hive_partitioning=false) WHERE {where}"  # noqa: S608
        with self._connect() as connection:
            table = connection.sql(query, params=[list(files), *params]).to_arrow_table()
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows

    def tally(self, files: Sequence[str], match: Match, erasure: Erasure) -> dict[str, Tally]:
        where, params = _where(match)
        changing, change_params = _changing(erasure)
        query = (
            f"SELECT filename, count(*), count(*) FILTER (WHERE {where}), "  # noqa: S608
            f"count(*) FILTER (WHERE {where} AND {changing}) "
            "FROM read_parquet(?, hive_partitioning=false, filename=true) GROUP BY filename"
        )
        with self._connect() as connection:
            rows = connection.execute(
                query, [*params, *params, *change_params, list(files)]
            ).fetchall()
        return {str(f): Tally(int(n), int(m), int(c)) for f, n, m, c in rows if m}

    def rewrite(
        self, jobs: Sequence[tuple[str, str]], match: Match, erasure: Erasure, scratch: str
    ) -> None:
        del scratch  # DuckDB writes each target directly
        where, params = _where(match)
        select, select_params = _erased_columns(where, params, erasure)
        with self._connect() as connection:
            for source, target in jobs:
                query = f"SELECT {select} FROM read_parquet(?, hive_partitioning=false)"  # noqa: S608
                args: list[Any] = [*select_params, source]
                if erasure.deletes:
                    query += f" WHERE NOT {where}"
                    args += params
                connection.execute(
                    f"COPY ({query}) TO {_literal(target)} (FORMAT parquet, COMPRESSION zstd)",
                    args,
                )

    def __init__(self) -> None:
        self._database: Any = None  # one in-memory database; a cursor per call (thread-safe)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[Any]:
        import duckdb

        if self._database is None:
            self._database = duckdb.connect()
        connection = self._database.cursor()
        try:
            connection.execute("SET TimeZone = 'UTC'")
            yield connection
        except duckdb.Error as error:  # as a plain error the connector reports by type
            raise RuntimeError(type(error).__name__) from error
        finally:
            connection.close()


def _where(match: Match) -> tuple[str, list[Any]]:
    """A predicate true exactly for the person's rows (a null identity matches nothing)."""
    parts: list[str] = []
    params: list[Any] = []
    for column, values in match.items():
        parts.append(f"{_quote(column)} IN ({', '.join('?' for _ in values)})")
        params += list(values)
    return f"coalesce({' OR '.join(parts) or 'false'}, false)", params


def _changing(erasure: Erasure) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for column, value in erasure.values.items():
        if value is None:
            parts.append(f"{_quote(column)} IS NOT NULL")
        else:
            parts.append(f"{_quote(column)} IS DISTINCT FROM ?")
            params.append(value)
    return f"({' OR '.join(parts) or 'false'})", params


def _erased_columns(where: str, params: Sequence[Any], erasure: Erasure) -> tuple[str, list[Any]]:
    """The select list of a rewrite: every column in the file's order, the erased ones set in
    the person's rows (``* REPLACE`` keeps the order and the other columns as read)."""
    if erasure.deletes or not erasure.values:
        return "*", []
    parts: list[str] = []
    args: list[Any] = []
    for column, value in erasure.values.items():
        name = _quote(column)
        if value is None:
            parts.append(f"CASE WHEN {where} THEN NULL ELSE {name} END AS {name}")
            args += params
        else:
            parts.append(f"CASE WHEN {where} THEN ? ELSE {name} END AS {name}")
            args += [*params, value]
    return f"* REPLACE ({', '.join(parts)})", args


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parquet_files(folder: Path, buckets: set[int] | None = None) -> Iterator[str]:
    """Every visible Parquet file under ``folder`` (hidden names skipped, folders too); with
    ``buckets``, bucket folders of other buckets are skipped (files outside any bucket folder
    are kept: nothing says which cookie ids they hold)."""
    if not folder.is_dir():
        return
    for current, folders, files in os.walk(folder):
        folders[:] = sorted(
            f for f in folders if not is_hidden(f) and (buckets is None or _keeps(f, buckets))
        )
        for name in sorted(files):
            if not is_hidden(name) and name.endswith(".parquet"):
                yield str(Path(current) / name)


def _keeps(folder: str, buckets: set[int]) -> bool:
    """Whether a folder may hold rows of those buckets (any folder not named ``bucket=NN``)."""
    found = _BUCKET.match(folder)
    return found is None or int(found.group(1)) in buckets


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _install(temporary: str, original: str) -> None:
    """Put a rewritten file in place of the original: its bytes on disk first, then one atomic
    rename (a reader opens either file whole)."""
    _fsync(temporary)
    os.replace(temporary, original)


def _fsync(path: str) -> None:
    """Flush a file or folder to disk, so that a rename never points at unwritten data."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
