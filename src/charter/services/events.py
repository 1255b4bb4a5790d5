"""Page views from the brands' sites into the event lake, gated by cookie consent.

``EventService.ingest`` takes a batch of events of one brand and:

1. reads each event (``charter.domain.events.read_event``): the IP address truncated as the
   manifest's ``events.ip_truncation`` says, the country taken from the CDN's country header
   forwarded with the event, page URLs without query or fragment; an unreadable event is
   dropped as ``invalid``;
2. checks the consent each event's cookie category needs (ePrivacy Art. 5(3), GDPR
   Art. 6(1)(a)) against the consent ledger as it stands when the batch arrives: a handful of
   statements for the whole batch (identities, merges, decision projections; each for all the
   distinct cookie ids at once), then one decision per distinct (cookie id, purpose), never one
   per event. An event without standing consent is dropped, counted by the decision's reason
   (``no_consent`` for a cookie id that refused or never answered, ``consent_withdrawn``, ...);
3. writes the accepted events as one Parquet file per (day, bucket) in the layout of
   ``charter.domain.lake``, each under a temporary name in its directory then renamed
   (``os.replace``, atomic on one file system), so a reader never sees a half-written file;
4. adds the dropped counts to ``event_drops`` (day, brand, reason), which operators read with
   ``charter events summary``; the dropped events themselves are not kept.

A crash between two files of one batch leaves the files already renamed: the sender retries
the batch and readers deduplicate on ``event_id`` (give one per event to make that exact).
The lake's directory is the value of the environment variable the events system names
(``connection_env``, a path or a ``file://`` URL); without it, ingestion is refused with
409 ``lake_not_configured`` and nothing is kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from charter.domain.clock import Clock
from charter.domain.decisions import Decision, PurposeRule, decide
from charter.domain.errors import Conflict, InvalidInput, InvalidValue
from charter.domain.events import INVALID, NO_CONSENT, Invalid, IpTruncation, PageView, read_event
from charter.domain.geo import BadRange, CountryTable
from charter.domain.lake import COLUMNS, bucket_of, day_of, partition_path
from charter.manifest.models import Events, IdentityKind, Manifest
from charter.services.brands import require_brand
from charter.services.rules import compile_rules
from charter.services.values import normalise_identity
from charter.storage.ledger import consent_slice, decision_state
from charter.storage.store import Store
from charter.storage.tables import decision_states, event_drops, identities, subject_aliases

MAX_BATCH = 1000
_CHUNK = 500  # identities per IN list: far below SQLite's and PostgreSQL's parameter limits
_COOKIE = IdentityKind.COOKIE_ID.value

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "timestamp[us, tz=UTC]": pa.timestamp("us", tz="UTC"),
}
SCHEMA = pa.schema(
    [pa.field(name, _ARROW_TYPES[kind], nullable=nullable) for name, kind, nullable in COLUMNS]
)
"""The Arrow schema of a ``page_views`` file (``charter.domain.lake.COLUMNS``)."""

_OWNERS = select(identities.c.lookup_hash, identities.c.subject_id).where(
    identities.c.kind == _COOKIE, identities.c.lookup_hash.in_(bindparam("hashes", expanding=True))
)
_ALIASES = select(subject_aliases.c.alias_id, subject_aliases.c.subject_id).where(
    subject_aliases.c.alias_id.in_(bindparam("ids", expanding=True))
)
_PROJECTIONS = select(
    decision_states.c.subject_id,
    decision_states.c.flags,
    decision_states.c.objections,
    decision_states.c.consent_index,
).where(decision_states.c.subject_id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class IngestReport:
    accepted: int
    dropped: dict[str, int] = field(default_factory=dict)
    files: int = 0


@dataclass(frozen=True)
class SummaryRow:
    day: dt.date
    brand: str
    category: str
    events: int
    cookie_ids: int


@dataclass(frozen=True)
class DropRow:
    day: dt.date
    brand: str
    reason: str
    count: int


@dataclass(frozen=True)
class Summary:
    stored: list[SummaryRow]
    dropped: list[DropRow]


def lake_root(events: Events | None, manifest: Manifest, environ: Mapping[str, str]) -> Path:
    """The directory of the event lake: the events system's ``connection_env`` value, a path
    or a ``file://`` URL. ``Conflict`` (``lake_not_configured``) when the manifest collects no
    events or the variable is unset."""
    if events is None:
        raise Conflict(
            "the manifest has no 'events' section: page views are not collected",
            code="lake_not_configured",
        )
    system = manifest.systems.get(events.system)
    variable = system.connection_env if system is not None else None
    if variable is None:
        raise Conflict(
            f"system '{events.system}' names no connection_env for the event lake",
            code="lake_not_configured",
        )
    value = environ.get(variable, "").strip()
    if not value:
        raise Conflict(
            f"the environment variable {variable} (the event lake's directory) is not set",
            code="lake_not_configured",
        )
    if value.startswith("file:"):
        parts = urlsplit(value)
        if parts.netloc not in ("", "localhost"):
            raise Conflict(f"{variable}: only local file:// URLs are supported", code="lake_url")
        return Path(unquote(parts.path))
    if "://" in value:
        raise Conflict(f"{variable}: a directory path or a file:// URL", code="lake_url")
    return Path(value)


class EventService:
    def __init__(
        self,
        manifest: Manifest,
        store: Store,
        clock: Clock,
        environ: Mapping[str, str] | None = None,
        countries: CountryTable | None = None,
    ) -> None:
        self.manifest = manifest
        self.countries = countries
        self.store = store
        self.clock = clock
        self.environ = os.environ if environ is None else environ
        self.rules: dict[str, PurposeRule] = compile_rules(manifest)
        # Each cookie category and the consent purpose it needs (None: strictly necessary).
        self.purposes: dict[str, str | None] = {
            key: (category.purpose if category.consent_required else None)
            for key, category in manifest.cookies.items()
        }
        config = manifest.events
        self.table = config.table if config is not None else "page_views"
        self.truncation = (
            IpTruncation(config.ip_truncation.ipv4, config.ip_truncation.ipv6)
            if config is not None
            else IpTruncation()
        )

    def root(self) -> Path:
        return lake_root(self.manifest.events, self.manifest, self.environ)

    # -- ingestion ---------------------------------------------------------------------------

    def ingest(self, batch: Sequence[Mapping[str, Any]], brand: str) -> IngestReport:
        """Store the events of ``batch`` that may be kept; count the others (module docstring)."""
        require_brand(self.manifest, brand)
        if len(batch) > MAX_BATCH:
            raise InvalidValue(f"events: at most {MAX_BATCH} per batch")
        root = self.root()  # refused before anything is read or counted
        now = self.clock()
        read: list[PageView] = []
        dropped: Counter[tuple[str, str]] = Counter()  # (day, reason)
        for raw in batch:
            event = self._read(raw, brand, now)
            if isinstance(event, Invalid):
                dropped[(_day_text(raw, now), INVALID)] += 1
            else:
                read.append(event)
        verdicts = self._verdicts(brand, read)
        accepted: list[PageView] = []
        for event in read:
            purpose = self.purposes[event.category]
            reason = "ok" if purpose is None else verdicts[(event.cookie_id, purpose)]
            if reason == "ok":
                accepted.append(event)
            else:
                dropped[(day_of(event.occurred_at).isoformat(), reason)] += 1
        files = self._write(root, accepted)
        if dropped:
            with self.store.write() as connection:
                _count_drops(connection, brand, dropped, now)
        by_reason: Counter[str] = Counter()
        for (_, reason), count in dropped.items():
            by_reason[reason] += count
        return IngestReport(len(accepted), dict(sorted(by_reason.items())), files)

    def _read(self, raw: Mapping[str, Any], brand: str, now: dt.datetime) -> PageView | Invalid:
        event = read_event(
            _with_time(raw),
            brand,
            str(uuid.uuid4()),
            self.purposes,
            now,
            self.truncation,
            self.countries.country if self.countries is not None else None,
        )
        if isinstance(event, Invalid):
            return event
        try:
            # The ledger knows cookie ids in their normalised form.
            cookie_id = normalise_identity(IdentityKind.COOKIE_ID, event.cookie_id, "US")
        except InvalidInput:
            return Invalid("cookie_id", "must be 8-128 letters, digits, '-', '_' or '.'")
        return event if cookie_id == event.cookie_id else replace(event, cookie_id=cookie_id)

    def _verdicts(self, brand: str, events: Sequence[PageView]) -> dict[tuple[str, str], str]:
        """The decision reason (``ok`` or why not) per (cookie id, purpose) in ``events``."""
        wanted: dict[str, set[str]] = defaultdict(set)
        for event in events:
            purpose = self.purposes[event.category]
            if purpose is not None:
                wanted[event.cookie_id].add(purpose)
        if not wanted:
            return {}
        states = self._states(list(wanted))
        verdicts: dict[tuple[str, str], str] = {}
        for cookie_id, purposes in wanted.items():
            state = states.get(cookie_id)
            for purpose in purposes:
                rule = self.rules.get(purpose)
                if rule is None:  # lint keeps banner purposes declared; refuse all the same
                    verdicts[(cookie_id, purpose)] = NO_CONSENT
                    continue
                projection = None
                if state is not None:
                    flags, objections, index = state
                    projection = decision_state(
                        flags, objections, consent_slice(index, brand, purpose)
                    )
                verdicts[(cookie_id, purpose)] = _reason(decide(rule, projection, (), brand))
        return verdicts

    def _states(self, cookie_ids: Sequence[str]) -> dict[str, tuple[int, str | None, str]]:
        """The decision projection of each known cookie id's subject (merges followed), read
        with three statements per chunk of cookie ids, whatever the number of events."""
        vault = self.store.vault
        by_hash = {vault.lookup_hash(_COOKIE, cookie_id): cookie_id for cookie_id in cookie_ids}
        hashes = list(by_hash)
        found: dict[str, tuple[int, str | None, str]] = {}
        with self.store.read() as connection:
            for start in range(0, len(hashes), _CHUNK):
                chunk = hashes[start : start + _CHUNK]
                owners = {
                    by_hash[bytes(h)]: subject_id
                    for h, subject_id in connection.execute(_OWNERS, {"hashes": chunk})
                }
                if not owners:
                    continue
                ids = sorted(set(owners.values()))
                merged = dict(connection.execute(_ALIASES, {"ids": ids}).all())
                current = {cookie: merged.get(sid, sid) for cookie, sid in owners.items()}
                rows = connection.execute(_PROJECTIONS, {"ids": sorted(set(current.values()))})
                projections = {
                    row.subject_id: (row.flags, row.objections, row.consent_index) for row in rows
                }
                for cookie_id, subject_id in current.items():
                    if subject_id in projections:
                        found[cookie_id] = projections[subject_id]
        return found

    def _write(self, root: Path, events: Sequence[PageView]) -> int:
        """One Parquet file per (day, bucket), each renamed into place once complete."""
        groups: dict[tuple[dt.date, int], list[PageView]] = defaultdict(list)
        for event in events:
            groups[(day_of(event.occurred_at), bucket_of(event.cookie_id))].append(event)
        for (day, bucket), rows in sorted(groups.items()):
            directory = root / partition_path(day, bucket, self.table)
            directory.mkdir(parents=True, exist_ok=True)
            name = f"{uuid.uuid4()}.parquet"
            temporary = directory / f".{name}.tmp"
            table = pa.Table.from_pydict(
                {column: [getattr(row, column) for row in rows] for column in SCHEMA.names},
                schema=SCHEMA,
            )
            try:
                with temporary.open("wb") as sink:
                    pq.write_table(table, sink)
                    sink.flush()
                    os.fsync(sink.fileno())  # the bytes are on disk before the name is
                os.replace(temporary, directory / name)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        return len(groups)

    # -- what operators read -----------------------------------------------------------------

    def summary(self, day: dt.date | None = None) -> Summary:
        """Events stored per day, brand and cookie category (with distinct cookie ids), read
        from the Parquet files with DuckDB, and the dropped counts from ``event_drops``."""
        root = self.root()
        stored: list[SummaryRow] = []
        if any((root / self.table).glob("day=*/bucket=*/*.parquet")):
            pattern = str(root / self.table / "*" / "*" / "*.parquet")
            sql = (
                "SELECT day, brand, category, count(*), count(DISTINCT cookie_id) "
                "FROM read_parquet(?, hive_partitioning = true, "
                "hive_types = {'day': DATE, 'bucket': INTEGER}) "
                + ("WHERE day = ? " if day is not None else "")
                + "GROUP BY ALL ORDER BY ALL"
            )
            params: list[Any] = [pattern] + ([day] if day is not None else [])
            with duckdb.connect() as connection:
                rows = connection.execute(sql, params).fetchall()
            stored = [SummaryRow(d, b, c, int(n), int(k)) for d, b, c, n, k in rows]
        query = select(event_drops).order_by(
            event_drops.c.day, event_drops.c.brand, event_drops.c.reason
        )
        if day is not None:
            query = query.where(event_drops.c.day == day.isoformat())
        with self.store.read() as connection:
            dropped = [
                DropRow(dt.date.fromisoformat(on), brand, reason, count)
                for on, brand, reason, count, _ in connection.execute(query)
            ]
        return Summary(stored, dropped)


def _reason(decision: Decision) -> str:
    # A cookie id the ledger has never seen never answered the banner: no consent.
    return NO_CONSENT if decision.reason == "unknown_subject" else str(decision.reason)


def _with_time(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """``occurred_at`` as a datetime (JSON and Python callers may give ISO 8601 text)."""
    value = raw.get("occurred_at")
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return raw
        return {**raw, "occurred_at": parsed}
    return raw


def _day_text(raw: Mapping[str, Any], now: dt.datetime) -> str:
    """The day an unreadable event is counted under: its own when readable, else today."""
    value = _with_time(raw).get("occurred_at")
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return day_of(value).isoformat()
    return now.astimezone(dt.UTC).date().isoformat()


def _count_drops(
    connection: Connection, brand: str, dropped: Mapping[tuple[str, str], int], now: dt.datetime
) -> None:
    """Add to the counts, one upsert per (day, reason): concurrent batches add, never lose."""
    rows = [
        {"day": day, "brand": brand, "reason": reason, "count": count, "updated_at": now}
        for (day, reason), count in sorted(dropped.items())
    ]
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(event_drops)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[event_drops.c.day, event_drops.c.brand, event_drops.c.reason],
            set_={
                "count": event_drops.c.count + statement.excluded["count"],
                "updated_at": statement.excluded.updated_at,
            },
        ),
        rows,
    )


def load_country_table(path: Path) -> CountryTable:
    """The operator's IP-range table (``CHARTER_GEOIP_FILE``): CSV rows ``first,last,country``
    (DB-IP's "IP to Country Lite" as published; further columns are ignored). A file that
    cannot be read or a bad row refuses it whole, naming the file and the row."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [
                tuple(row[:3]) for row in csv.reader(handle) if row and not row[0].startswith("#")
            ]
    except OSError as error:
        raise InvalidValue(f"{path}: cannot read the IP-range table ({error.strerror})") from None
    if any(len(row) < 3 for row in rows):
        raise InvalidValue(f"{path}: every row needs first address, last address and country")
    try:
        return CountryTable.from_rows(rows)  # type: ignore[arg-type]
    except BadRange as bad:
        raise InvalidValue(f"{path}: {bad}") from None
