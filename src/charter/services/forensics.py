"""The forensic check behind provable erasure: are a person's identifiers anywhere in the bytes
that Charter keeps?

Given identity values (an e-mail, a phone number, an account id, a cookie id, a device serial),
``ForensicScanner.scan`` searches, in chunks (never a whole file in memory):

- on SQLite, the raw bytes of the database file and its ``-wal``, ``-journal`` and ``-shm``
  files: live rows, freed pages and old page images alike. Where they match, the tables are
  searched too, to tell a live row (table, column, row) from leftover bytes;
- on PostgreSQL, whose files are the server's, every text, JSON and binary column of every
  Charter table, by SQL (``position``), the database doing the reading; the report says that
  the raw files (and the server's WAL and archives) were out of reach;
- every file under the outbox folder (``.eml`` files: their base64 and quoted-printable parts
  unfolded), Charter's log file and its rotated copies, and any further file or folder given.

The forms searched for are those of ``charter.domain.forensics``, built from the value as given
and normalised (a lower-cased e-mail; a phone number in E.164 and its common spaced, dashed and
national forms; a serial without spaces or dashes). With the vault, the identity's keyed hash
(``identities.lookup_hash``, one per kind the value can be) is searched for as well: it is how
the database finds a person, so an erased person's hash must be gone from the file, its free
pages and its WAL. Request records keep the keyed hashes of the identities they were filed with
(hexadecimal, by design: they are evidence for 24 months); the report lists them as kept.

Free text written by other people (a staff note, another customer's message) that happens to
name the person is not that person's data, and is reported like anything else: the scan cannot
tell who wrote the bytes.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers
from sqlalchemy import (
    JSON,
    Engine,
    LargeBinary,
    String,
    Text,
    cast,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url

from charter.domain.errors import InvalidValue
from charter.domain.forensics import MIN_LENGTH, Hit, Pattern, patterns, search
from charter.manifest.models import IdentityKind
from charter.services.values import normalise_identity
from charter.storage.tables import metadata, rights_requests
from charter.storage.vault import Vault

CHUNK = 1 << 20
SQLITE_COMPANIONS = ("-wal", "-journal", "-shm")
Progress = Callable[[int, int], None]
"""Called as bytes are read: (bytes done, bytes in all)."""
_PHONE_LIKE = re.compile(r"^\+?[\d\s().\-/]+$")


@dataclass(frozen=True, slots=True)
class Finding:
    """One place an identity was found: a file and byte offset, or a table, column and row."""

    identity: str
    form: str
    where: str
    offset: int | None = None
    row: str | None = None

    def __str__(self) -> str:
        at = f"at byte {self.offset}" if self.offset is not None else f"row {self.row}"
        return f"{self.identity}: {self.where} {at} ({self.form})"


@dataclass(frozen=True, slots=True)
class Kept:
    """A request record keeping the identity's keyed hash (by design)."""

    identity: str
    request_id: str


@dataclass
class ScanReport:
    identities: list[str]
    findings: list[Finding] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)
    """Each file read, with its size in bytes."""
    tables: list[str] = field(default_factory=list)
    """Each ``table.column`` searched by SQL."""
    kept: list[Kept] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    bytes_scanned: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings

    def as_json(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "identities": self.identities,
            "findings": [asdict(f) for f in self.findings],
            "files": [{"path": path, "bytes": size} for path, size in self.files.items()],
            "tables": self.tables,
            "bytes_scanned": self.bytes_scanned,
            "kept": [asdict(k) for k in self.kept],
            "notes": self.notes,
        }


# --- the forms of an identity ------------------------------------------------------------------


def text_forms(value: str, region: str | None = None) -> dict[str, str]:
    """The text forms an identity may be stored in, by name (see the module docstring)."""
    given = value.strip()
    forms = {"as given": value, "trimmed": given}
    if "@" in given:
        forms["lower-case"] = given.lower()
        with contextlib.suppress(InvalidValue):
            forms["normalised"] = normalise_identity(IdentityKind.EMAIL, given, region or "ZZ")
    elif _PHONE_LIKE.match(given) and sum(c.isdigit() for c in given) >= 7:
        forms |= _phone_forms(given, region)
    serial = re.sub(r"[\s-]", "", given).upper()
    if serial != given:
        forms["upper-case without spaces or dashes"] = serial
    return forms


def _phone_forms(given: str, region: str | None) -> dict[str, str]:
    try:
        number = phonenumbers.parse(given, region or "ZZ")
    except phonenumbers.NumberParseException:
        return {}
    if not phonenumbers.is_possible_number(number):
        return {}
    formats = phonenumbers.PhoneNumberFormat
    e164 = phonenumbers.format_number(number, formats.E164)
    international = phonenumbers.format_number(number, formats.INTERNATIONAL)
    national = phonenumbers.format_number(number, formats.NATIONAL)
    return {
        "E.164": e164,
        "E.164 without +": e164.removeprefix("+"),
        "international": international,
        "international, spaced": international.replace("-", " "),
        "international, dashed": international.replace(" ", "-"),
        "00 prefix": "00" + e164.removeprefix("+"),
        "national": national,
        "national, spaced": re.sub(r"[()\-]", " ", national).strip().replace("  ", " "),
        "national number": phonenumbers.national_significant_number(number),
    }


def identity_patterns(
    values: Sequence[str], region: str | None = None, vault: Vault | None = None
) -> list[Pattern]:
    """Every byte pattern of the identities; with ``vault``, their keyed hashes too."""
    found: list[Pattern] = []
    for value in values:
        found += patterns(value, text_forms(value, region))
        if vault is not None:
            found += [
                Pattern(value, f"keyed hash ({kind})", digest, fold_case=False, textual=False)
                for kind, digest in keyed_hashes(vault, value, region)
            ]
    return found


def keyed_hashes(vault: Vault, value: str, region: str | None) -> list[tuple[str, bytes]]:
    """The lookup hash of ``value`` for each identity kind it can be."""
    hashes = []
    for kind in IdentityKind:
        try:
            normalised = normalise_identity(kind, value, region or "ZZ")
        except InvalidValue:
            continue
        hashes.append((kind.value, vault.lookup_hash(kind.value, normalised)))
    return hashes


def checked_identities(values: Sequence[str]) -> list[str]:
    """The values to search for; ``InvalidValue`` for none, or one too short to search for."""
    if not values:
        raise InvalidValue("give at least one identity to search for")
    for value in values:
        if len(value.strip()) < MIN_LENGTH:
            raise InvalidValue(
                f"identity {value!r}: shorter than {MIN_LENGTH} characters, it would match "
                "unrelated bytes; search for a longer identifier of the person"
            )
    return list(dict.fromkeys(values))


# --- files -------------------------------------------------------------------------------------


def scan_file(
    path: Path,
    wanted: Sequence[Pattern],
    *,
    unfold: bool = True,
    chunk_size: int = CHUNK,
    read: Callable[[int], None] | None = None,
) -> Iterator[Hit]:
    """The hits in one file, read in chunks; ``read`` is told each chunk's size."""
    with path.open("rb") as handle:

        def chunks() -> Iterator[bytes]:
            while chunk := handle.read(chunk_size):
                if read is not None:
                    read(len(chunk))
                yield chunk

        yield from search(chunks(), wanted, unfold=unfold)


def files_under(folder: Path) -> list[Path]:
    """Every regular file under ``folder`` (symbolic links are not followed)."""
    found = []
    for root, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return sorted(found)


def sqlite_files(database_url: str | URL) -> list[Path] | None:
    """The files of a SQLite database on disk (those that exist), or ``None`` for a server."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if url.database in (None, "", ":memory:"):
        return []
    database = Path(url.database)
    candidates = [database] + [database.with_name(database.name + s) for s in SQLITE_COMPANIONS]
    return [path for path in candidates if path.is_file()]


# --- tables ------------------------------------------------------------------------------------


def _kind_of(column_type: Any) -> str | None:
    if isinstance(column_type, LargeBinary):
        return "binary"
    if isinstance(column_type, String | Text | JSON):
        return "text"
    return None


class ForensicScanner:
    """Searches Charter's files and tables for identities (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        vault: Vault | None = None,
        region: str | None = None,
        outbox_dir: Path | None = None,
        log_file: Path | None = None,
        paths: Sequence[Path] = (),
        chunk_size: int = CHUNK,
    ) -> None:
        self.engine = engine
        self.vault = vault
        self.region = region
        self.outbox_dir = outbox_dir
        self.log_file = log_file
        self.paths = list(paths)
        self.chunk_size = chunk_size

    def scan(self, identities: Sequence[str], progress: Progress | None = None) -> ScanReport:
        """Search everything for ``identities``; ``InvalidValue`` for none or one too short."""
        values = checked_identities(identities)
        wanted = identity_patterns(values, self.region, self.vault)
        report = ScanReport(values)
        database = sqlite_files(self.engine.url)
        own = set(database or [])
        files = [(path, False) for path in database or []] + [
            (path, True) for path in self._other_files(report) if path not in own
        ]
        sizes = {path: _size(path) for path, _ in files}
        server_tables = self._table_sizes() if database is None else {}
        total = sum(sizes.values()) + sum(server_tables.values())
        done = 0

        def read(count: int) -> None:
            nonlocal done
            done += count
            if progress is not None:
                progress(done, max(total, done))

        for path, unfold in files:
            try:
                hits = list(
                    scan_file(path, wanted, unfold=unfold, chunk_size=self.chunk_size, read=read)
                )
            except FileNotFoundError:
                report.notes.append(f"{path}: removed while the scan ran")
                continue
            report.files[str(path)] = sizes[path]
            report.findings += [
                Finding(h.pattern.identity, h.pattern.form, str(path), offset=h.offset)
                for h in hits
            ]
        if database is None:
            report.notes.append(
                f"{self.engine.dialect.name}: the database server's own files (its data files, "
                "WAL and archives, and any backup) cannot be read from here; every text, JSON "
                "and binary column of Charter's tables was searched instead"
            )
            report.findings += self._search_tables(wanted, report, server_tables, read)
        elif not database:
            report.notes.append("the SQLite database has no file on disk")
        elif any(f.where in {str(p) for p in database} for f in report.findings):
            # Where the file matches, say whether it is a live row or bytes left behind.
            live = self._search_tables(wanted, report, {}, read)
            report.findings += live
            if not live:
                report.notes.append(
                    "the database file matches, but no row does: the bytes are left over from "
                    "deleted rows (free pages not overwritten, or old page images in the WAL)"
                )
        if self.vault is None:
            report.notes.append("no key file: the identities' keyed hashes were not searched for")
        else:
            report.kept = self._kept(values)
        report.bytes_scanned = done
        return report

    def _other_files(self, report: ScanReport) -> list[Path]:
        found: list[Path] = []
        if self.outbox_dir is not None and self.outbox_dir.is_dir():
            found += files_under(self.outbox_dir)
        if self.log_file is not None:
            logs = [self.log_file, *sorted(self.log_file.parent.glob(self.log_file.name + ".*"))]
            found += [path for path in logs if path.is_file()]
            if not self.log_file.is_file():
                report.notes.append(f"{self.log_file}: the log file does not exist (yet)")
        for path in self.paths:
            if path.is_dir():
                found += files_under(path)
            elif path.is_file():
                found.append(path)
            else:
                report.notes.append(f"{path}: not found")
        return list(dict.fromkeys(found))

    def _columns(self) -> Iterator[tuple[str, list[str], str, str]]:
        """(table, primary key columns, column, "text" or "binary") of Charter's tables."""
        inspector = inspect(self.engine)
        existing = set(inspector.get_table_names())
        for name in sorted(metadata.tables):
            if name not in existing:
                continue
            key = inspector.get_pk_constraint(name)["constrained_columns"]
            for described in inspector.get_columns(name):
                kind = _kind_of(described["type"])
                if kind is not None:
                    yield name, key, described["name"], kind

    def _table_sizes(self) -> dict[str, int]:
        """Each Charter table's size on the server, for the progress bar."""
        if self.engine.dialect.name != "postgresql":
            return {}
        size = text("SELECT pg_total_relation_size(CAST(:name AS regclass))")
        with self.engine.connect() as connection:
            return {
                name: int(connection.execute(size, {"name": name}).scalar() or 0)
                for name in sorted(metadata.tables)
                if self.engine.dialect.has_table(connection, name)
            }

    def _search_tables(
        self,
        wanted: Sequence[Pattern],
        report: ScanReport,
        sizes: dict[str, int],
        read: Callable[[int], None],
    ) -> list[Finding]:
        """Each matching (table, column, row, form), the database reading the rows."""
        findings: list[Finding] = []
        by_table: dict[str, list[tuple[list[str], str, str]]] = {}
        for name, key, column_name, kind in self._columns():
            by_table.setdefault(name, []).append((key, column_name, kind))
        with self.engine.connect() as connection:
            connection = connection.execution_options(
                readonly=True, stream_results=True, yield_per=500
            )
            for name, columns in by_table.items():
                for key, column_name, kind in columns:
                    findings += self._search_column(
                        connection, name, key, column_name, kind, wanted
                    )
                    report.tables.append(f"{name}.{column_name}")
                read(sizes.get(name, 0))
        return findings

    def _search_column(
        self,
        connection: Any,
        name: str,
        key: list[str],
        column_name: str,
        kind: str,
        wanted: Sequence[Pattern],
    ) -> list[Finding]:
        """One statement per column, one flag per pattern: the database reads each row once.
        Written as SQL text (quoted names, bound needles): with some hundred patterns,
        compiling the expression would take longer than the search."""
        postgres = self.engine.dialect.name == "postgresql"
        quote = self.engine.dialect.identifier_preparer.quote
        keys = [quote(k) for k in key] or (["ctid"] if postgres else ["rowid"])
        value = quote(column_name)
        exact = f"CAST({value} AS TEXT)" if postgres else value
        folded = f"lower({exact})"
        tests: list[tuple[Pattern, str]] = []
        params: dict[str, Any] = {}
        for pattern in wanted:
            needle: str | bytes
            if kind == "binary":
                # Bytes are compared as they are: both cases of a text form are patterns.
                haystack, needle = value, pattern.needle
            elif pattern.textual:
                needle = pattern.needle.decode("utf-8")
                haystack = folded if pattern.fold_case else exact
                if pattern.fold_case and postgres:
                    needle = needle.lower()  # PostgreSQL lowers beyond ASCII; SQLite does not
            else:
                continue
            bound = f"n{len(tests)}"
            params[bound] = needle
            found = (
                f"position(:{bound} IN {haystack}) > 0"
                if postgres
                else f"instr({haystack}, :{bound}) > 0"
            )
            tests.append((pattern, found))
        if not tests:
            return []
        statement = text(
            f"SELECT {', '.join(keys)}, "  # noqa: S608 (quoted names, bound values)
            + ", ".join(f"CASE WHEN {found} THEN 1 ELSE 0 END" for _, found in tests)
            + f" FROM {quote(name)} WHERE "
            + " OR ".join(found for _, found in tests)
        )
        findings = []
        for row in connection.execute(statement, params):
            row_id = ",".join(str(row[i]) for i in range(len(keys)))
            for i, (pattern, _) in enumerate(tests):
                if row[len(keys) + i]:
                    findings.append(
                        Finding(pattern.identity, pattern.form, f"{name}.{column_name}", row=row_id)
                    )
        return findings

    def _kept(self, values: Sequence[str]) -> list[Kept]:
        """Request records holding one of the identities' keyed hashes (kept by design)."""
        assert self.vault is not None
        if sqlite_files(self.engine.url) == []:
            return []
        kept = []
        with self.engine.connect() as connection:
            if not self.engine.dialect.has_table(connection, rights_requests.name):
                return []
            for value in values:
                for kind, digest in keyed_hashes(self.vault, value, self.region):
                    marker = f'%"{kind}:{digest.hex()}"%'
                    for request_id in connection.scalars(
                        select(rights_requests.c.id).where(
                            cast(rights_requests.c.identity_hashes, Text).like(marker)
                        )
                    ):
                        kept.append(Kept(value, str(request_id)))
        return kept

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ForensicScanner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


__all__ = [
    "Finding",
    "ForensicScanner",
    "Kept",
    "ScanReport",
    "checked_identities",
    "files_under",
    "identity_patterns",
    "keyed_hashes",
    "scan_file",
    "sqlite_files",
    "text_forms",
]
