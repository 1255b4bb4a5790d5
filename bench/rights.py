"""Access and erasure requests end to end on a PostgreSQL shop, beside the raw SQL doing the same.

What is measured (issue 4):

1. **Shop.** A fresh schema in the PostgreSQL server of ``--postgres-url`` (or
   ``CHARTER_TEST_POSTGRES_URL``; ``--durable-url`` names a second server, measured the same
   way after the first when it answers; default ``127.0.0.1:5433``, fsync on). The six tables
   and rows of ``tests/fixtures/shop.py`` for ``--customers`` customers (default 1,000,000,
   about 13 rows each): its generator, written by ``COPY`` (``--seed-with create_shop`` calls
   ``create_shop`` itself, the same rows by ``executemany``, about six times slower); seeding
   timed and printed, with the rows per table. Then the indexes a real shop has on the columns the
   manifest searches by (timed): ``lower(email)`` of customers and orders,
   ``lower(contact_email)`` and ``contact_phone`` of support tickets, ``phone`` of customers
   (the fixture already indexes ``email``, ``customer_id``, ``order_id``, ``ticket_id`` and
   ``serial_number``), and ``ANALYZE``. The schema is dropped at the end unless ``--keep``.
2. **Charter.** The example manifest without its three systems that have no connector
   (``events``, ``forum``, ``warehouse``), so that requests complete without staff; its store
   a SQLite file in a temporary folder (``--charter-postgres`` adds a second pass with the store
   in a schema of the same PostgreSQL server); ``charter.rights.systems._engine_for`` gives the
   shop's engine (``charter.storage.engine.make_engine``, as ``SHOP_DATABASE_URL`` would). Every
   person measured first made a purchase through ``Charter.submit`` (email and account id as
   identities, not timed), so Charter knows them and adds their account id to the email given.
3. **Requests.** For ``--requests`` distinct random customers (seeded; default 100) per type,
   after ``--warm-up`` requests (default 10) of each type: ``RequestService.submit`` with the
   customer's email, the code read from the ``.eml`` outbox (not timed), ``verify``, and for an
   erasure ``approve`` (erasure needs approval); then, timed alone, ``charter.rights.run(id)``:
   from verified (or approved) to done, that is, for access, Charter's own data, one step per
   shop table and the package built, sealed and stored; for erasure, the shop erased in one
   transaction, the manifest's recipients told (Art. 19: one step per recipient, here 13,
   their e-mails queued and recorded in one transaction) and Charter's own data erased; each
   with its steps persisted and its messages (to the person, to the recipients) queued in the
   outbox. The outbox is then delivered to ``.eml`` files, not timed, as the background worker
   does right after a round of requests (``run`` does not wait on the mail server). Intake
   (``submit`` + ``verify``) is timed separately. Median, p95 and max in ms; the time of each
   part of ``run`` (steps by system and action; steps run together count under the first) is
   printed too.
4. **Statements.** A ``before_cursor_execute`` listener on the shop's engine and on Charter's
   store counts the statements each ``run`` sends, the shop's per table (catalogue queries of
   table reflection counted apart; the pool's pre-ping is not a cursor statement).
5. **Baseline,** in the same run, for different customers: plain ``psycopg`` on one
   connection, the statements Charter's connector would send, written by hand from the
   manifest: for access one ``SELECT *`` per table with the same ``IN``/``OR`` logic (the
   email and account id, and the keys found in the parent table), for erasure the same
   ``SELECT ... FOR UPDATE`` then one ``DELETE`` or ``UPDATE`` per table, children first, in
   one transaction (``COMMIT`` included).
6. **Memory.** This process's RSS (``VmRSS``) after the warm-up and after the measured
   requests, each after ``gc.collect()``; if it grew by ``--max-growth-mib`` or more, 20 more
   requests of each type run under ``tracemalloc`` and the top growth is printed.
7. **Check.** After each access, the package's ``data.json`` must hold exactly the person's
   rows of every shop table (by primary key, against the seeded truth, which agrees with
   ``Shop.rows_of``); after each erasure (Charter's and the baseline's), none of the person's
   rows may remain in a table the erasure deletes from, and every remaining row must have each
   declared column erased (null or ``[erased]``) except those a legal hold keeps (orders and
   order items under ``order_records``), which must still hold their values. At the end, each
   table's row count must equal the seeded count less the rows deleted.

Usage: python bench/rights.py [--customers N] [--requests N] [--postgres-url URL]
        [--durable-url URL] [--charter-postgres] [--seed-with copy|create_shop] [--profile N]
        [--keep]
Exits 1 if a step fails, a request does not complete, or an answer is wrong.
"""

from __future__ import annotations

import argparse
import cProfile
import email
import gc
import io
import json
import os
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from charter.bootstrap import initialise
from charter.config import Settings
from charter.connectors.sql import SqlConnector
from charter.domain.categories import covered_by_any
from charter.facade import Charter
from charter.manifest import load_manifest
from charter.manifest.models import ErasureAction, IdentityKind, Manifest, System
from charter.services.requests import NewRequest
from charter.storage.engine import make_engine

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))
from fixtures.shop import (  # noqa: E402
    TABLES,
    Shop,
    _customer_rows,
    account_id_of,
    create_shop,
    email_of,
    shop_metadata,
)

MANIFEST = REPO_ROOT / "examples" / "musicgroup" / "charter.yaml"
WITHOUT_CONNECTOR = ("events", "forum", "warehouse")
SYSTEM = "shop"
BRAND = "akkord_pro"
MASK = "[erased]"
TARGET_ACCESS_MS = 60.0
TARGET_ERASURE_MS = 100.0
DIAGNOSE = 20
DURABLE_URL = "postgresql+psycopg://charter:charter-test@127.0.0.1:5433/charter_test"
INDEXES = (
    "CREATE INDEX ON customers (lower(email))",
    "CREATE INDEX ON customers (phone)",
    "CREATE INDEX ON orders (lower(email))",
    "CREATE INDEX ON support_tickets (lower(contact_email))",
    "CREATE INDEX ON support_tickets (contact_phone)",
)
WORD = re.compile(r"\b(?:FROM|UPDATE|INTO)\s+\"?(\w+)\"?", re.IGNORECASE)


class StepFailed(Exception):
    pass


# --- the shop -------------------------------------------------------------------------------


@dataclass
class Plan:
    """What the manifest says Charter's connector does in the shop, for the baseline and the
    checks: tables parents first, and per table what erasure does."""

    system: System
    order: list[str]
    deleted: set[str]
    kept: dict[str, set[str]]
    erased: dict[str, dict[str, str | None]]

    @classmethod
    def of(cls, manifest: Manifest) -> Plan:
        system = manifest.systems[SYSTEM]
        holds = {hold.key: hold for hold in manifest.retention.legal_holds}
        order = SqlConnector(SYSTEM, system, create_engine("sqlite://"), holds).tables()
        kept: dict[str, set[str]] = {}
        erased: dict[str, dict[str, str | None]] = {}
        deletes: set[str] = set()
        for table, spec in system.tables.items():
            hold = holds[spec.legal_hold] if spec.legal_hold else None
            kept[table] = {
                c
                for c, column in spec.columns.items()
                if hold is not None and covered_by_any(column.category, hold.categories)
            }
            erased[table] = {
                c: MASK if column.erasure is ErasureAction.MASK else None
                for c, column in spec.columns.items()
                if c not in kept[table]
            }
            if hold is None and any(
                column.erasure is ErasureAction.DELETE_ROW for column in spec.columns.values()
            ):
                deletes.add(table)
        # A row that a kept row of a child table points at is minimised, not deleted.
        deleted: set[str] = set()
        for table in reversed(order):
            children = [
                t
                for t, spec in system.tables.items()
                if any(r.references.split(".", 1)[0] == table for r in spec.relations)
            ]
            if table in deletes and all(child in deleted for child in children):
                deleted.add(table)
        return cls(system, order, deleted, kept, erased)

    def where(
        self, table: str, identities: dict[str, list[str]], found: dict[str, list[int]]
    ) -> tuple[str, list[Any]] | None:
        """The WHERE clause Charter's connector builds for ``table`` (same IN/OR logic)."""
        spec = self.system.tables[table]
        clauses: list[str] = []
        params: list[Any] = []
        for column, kind in spec.identities.items():
            values = sorted(set(identities.get(kind.value, ())))
            if not values:
                continue
            if kind is IdentityKind.EMAIL:
                clauses.append(f"lower({column}) IN ({', '.join(['lower(%s)'] * len(values))})")
            else:
                clauses.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
                if kind is IdentityKind.ACCOUNT_ID:
                    values = [int(v) for v in values]
            params += values
        for relation in spec.relations:
            keys = found.get(relation.references.split(".", 1)[0], [])
            if keys:
                clauses.append(f"{relation.column} IN ({', '.join(['%s'] * len(keys))})")
                params += keys
        if not clauses:
            return None
        return " OR ".join(clauses), params


def scoped(url: str, schema: str) -> str:
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def conninfo(url: str) -> str:
    return (
        make_url(url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    )


def psycopg_connect(url: str, schema: str, *, autocommit: bool = False) -> psycopg.Connection:
    return psycopg.connect(conninfo(url), options=f"-csearch_path={schema}", autocommit=autocommit)


def create_schema(url: str, prefix: str) -> str:
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema


def drop_schema(url: str, schema: str) -> None:
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def server_settings(url: str) -> str:
    with psycopg.connect(conninfo(url)) as connection:
        shown = {
            name: connection.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
            for name in ("fsync", "synchronous_commit", "shared_buffers")
        }
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def table_counts(connection: psycopg.Connection) -> dict[str, int]:
    return {
        t: int(connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
        for t in TABLES
    }


# --- measuring ------------------------------------------------------------------------------


class Statements:
    """Counts the statements an engine sends (the shop's per table)."""

    def __init__(self, engine: Engine, tables: Sequence[str] = ()) -> None:
        self.tables = set(tables)
        self.counts: dict[str, int] = {}
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _c: Any, _cur: Any, statement: str, *_rest: Any) -> None:
        if self.tables:
            match = WORD.search(statement)
            name = match.group(1) if match else "other"
            key = name if name in self.tables else "catalogue"
        else:
            key = "all"
        self.counts[key] = self.counts.get(key, 0) + 1

    def take(self) -> dict[str, int]:
        counts, self.counts = self.counts, {}
        return counts


class Probe:
    """What one ``run`` cost: statements to the shop (per table) and to Charter's store, and
    where its time went (the runner's steps by system and action, the outbox's delivery)."""

    def __init__(self, charter: Charter, shop: Engine) -> None:
        self.shop = Statements(shop, TABLES)
        self.store = Statements(charter.store.engine)
        self.parts: dict[str, float] = {}
        runner, outbox = charter.rights, charter.outbox
        run_steps, deliver = runner._run_steps, outbox.deliver

        def timed_steps(state: Any, steps: list[Any], following: Any) -> None:
            began = time.perf_counter()
            try:
                run_steps(state, steps, following)
            finally:
                self._add(f"{steps[0].system} {steps[0].action}", began)

        def timed_deliver(*args: Any, **kwargs: Any) -> int:
            began = time.perf_counter()
            try:
                return deliver(*args, **kwargs)
            finally:
                self._add("outbox delivery", began)

        runner._run_steps = timed_steps  # type: ignore[method-assign]
        outbox.deliver = timed_deliver  # type: ignore[method-assign]

    def _add(self, part: str, began: float) -> None:
        self.parts[part] = self.parts.get(part, 0.0) + (time.perf_counter() - began) * 1000

    def take(self) -> tuple[dict[str, int], int, dict[str, float]]:
        parts, self.parts = self.parts, {}
        return self.shop.take(), sum(self.store.take().values()), parts


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ms(values: Sequence[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.1f} / {p95:.1f} / {ordered[-1]:.1f}"


@dataclass
class Timings:
    run: list[float] = field(default_factory=list)
    intake: list[float] = field(default_factory=list)
    approve: list[float] = field(default_factory=list)
    shop: list[dict[str, int]] = field(default_factory=list)
    store: list[int] = field(default_factory=list)
    parts: list[dict[str, float]] = field(default_factory=list)


@dataclass
class Pass:
    label: str
    access: Timings = field(default_factory=Timings)
    erasure: Timings = field(default_factory=Timings)
    rss: tuple[float, float] = (0.0, 0.0)
    growth: list[str] = field(default_factory=list)
    profile: str = ""
    erased: list[int] = field(default_factory=list)
    seconds: float = 0.0


# --- checks ---------------------------------------------------------------------------------


def check_package(archive: bytes, truth: dict[str, set[int]], who: str) -> list[str]:
    data = json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("data.json"))
    shop = data["systems"].get(SYSTEM, {})
    wrong = []
    for table in TABLES:
        ids = {row["id"] for row in shop.get(table, {}).get("rows", [])}
        if ids != truth[table]:
            wrong.append(f"{who}: package {table} ids {sorted(ids)} != {sorted(truth[table])}")
    return wrong


def check_erased(
    connection: psycopg.Connection, plan: Plan, truth: dict[str, set[int]], who: str
) -> list[str]:
    wrong = []
    for table in TABLES:
        ids = sorted(truth[table])
        cursor = connection.execute(f"SELECT * FROM {table} WHERE id = ANY(%s)", (ids,))
        names = [d.name for d in cursor.description or ()]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if table in plan.deleted:
            if rows:
                wrong.append(f"{who}: {len(rows)} rows of {table} remain")
            continue
        if len(rows) != len(ids):
            wrong.append(f"{who}: {table} kept {len(rows)} of {len(ids)} rows")
        for row in rows:
            for column in plan.system.tables[table].columns:
                value = row[column]
                if column in plan.kept[table]:
                    if value in (None, MASK):
                        wrong.append(f"{who}: {table}.{column} held but erased")
                elif value not in (None, MASK):
                    wrong.append(f"{who}: {table}.{column} not erased")
    return wrong


# --- the baseline ---------------------------------------------------------------------------


def baseline_access(
    connection: psycopg.Connection, plan: Plan, identities: dict[str, list[str]]
) -> dict[str, set[int]]:
    found: dict[str, list[int]] = {}
    for table in plan.order:
        where = plan.where(table, identities, found)
        rows = (
            connection.execute(
                f"SELECT * FROM {table} WHERE {where[0]} ORDER BY id", where[1]
            ).fetchall()
            if where
            else []
        )
        found[table] = [row[0] for row in rows]
    connection.commit()
    return {table: set(keys) for table, keys in found.items()}


def baseline_erasure(
    connection: psycopg.Connection, plan: Plan, identities: dict[str, list[str]]
) -> None:
    found: dict[str, list[int]] = {}
    for table in plan.order:
        where = plan.where(table, identities, found)
        rows = (
            connection.execute(
                f"SELECT * FROM {table} WHERE {where[0]} ORDER BY id FOR UPDATE", where[1]
            ).fetchall()
            if where
            else []
        )
        found[table] = [row[0] for row in rows]
    for table in reversed(plan.order):
        if not found[table]:
            continue
        if table in plan.deleted:
            connection.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", (found[table],))
        elif plan.erased[table]:
            columns = plan.erased[table]
            assignments = ", ".join(f"{c} = %s" for c in columns)
            connection.execute(
                f"UPDATE {table} SET {assignments} WHERE id = ANY(%s)",
                [*columns.values(), found[table]],
            )
    connection.commit()


def baseline_pass(
    url: str,
    schema: str,
    plan: Plan,
    people: dict[str, list[int]],
    truth: dict[int, dict[str, set[int]]],
    args: argparse.Namespace,
) -> tuple[Pass, list[str]]:
    result = Pass("baseline")
    warm = args.warm_up
    wrong: list[str] = []
    with (
        psycopg_connect(url, schema) as connection,
        psycopg_connect(url, schema, autocommit=True) as checker,
    ):
        for kind in ("access", "erasure"):
            timings = result.access if kind == "access" else result.erasure
            for n, customer in enumerate(people[kind][: warm + args.requests]):
                identities = {
                    "email": [email_of(customer)],
                    "account_id": [str(account_id_of(customer))],
                }
                began = time.perf_counter()
                if kind == "access":
                    got = baseline_access(connection, plan, identities)
                else:
                    baseline_erasure(connection, plan, identities)
                    result.erased.append(customer)
                elapsed = (time.perf_counter() - began) * 1000
                if n >= warm:
                    timings.run.append(elapsed)
                if kind == "access":
                    if got != truth[customer]:
                        wrong.append(f"baseline read customer {customer}: {got}")
                else:
                    wrong += check_erased(checker, plan, truth[customer], f"baseline {customer}")
    return result, wrong


# --- Charter --------------------------------------------------------------------------------


def manifest_copy(folder: Path) -> Path:
    document = yaml.safe_load(MANIFEST.read_text())
    for key in WITHOUT_CONNECTOR:
        document["systems"].pop(key, None)
    path = folder / "charter.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return path


def purchase(charter: Charter, customer: int) -> None:
    charter.submit(
        "purchase",
        brand=BRAND,
        identities={"email": email_of(customer), "account_id": str(account_id_of(customer))},
        data={
            "name": "Dev Dahl",
            "phone": "+1 202 555 0133",
            "shipping_address": "1 Example Street, Hamburg",
            "country": "DE",
            "payment_token": f"tok_bench_{customer}",
            "order_items": "GTR-100",
            "ip_address": "203.0.113.9",
        },
        consents=[{"purpose": "marketing_communications", "notice": "Email me offers."}],
    )


def code_from(outbox: Path, to: str) -> str:
    for path in sorted(outbox.glob("*.eml"), reverse=True):
        mail = email.message_from_bytes(path.read_bytes())
        if mail["To"] == to:
            body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
            found = re.search(r"^\s+(\d{6})$", body, re.M)
            if found:
                return found.group(1)
    raise StepFailed(f"no code in the outbox for {to}")


def clear(outbox: Path) -> None:
    for path in outbox.glob("*.eml"):
        path.unlink()


@contextmanager
def charter_for(
    folder: Path, manifest: Path, store_url: str, shop: Engine
) -> Iterator[tuple[Charter, Settings]]:
    settings = Settings(
        database_url=store_url,
        manifest=manifest,
        key_file=folder / "charter.key",
        outbox_dir=folder / "outbox",
    )
    initialise(settings)
    with Charter.open(settings) as charter:
        charter.rights.systems._engine_for = lambda variable: shop
        yield charter, settings


def one_request(
    charter: Charter,
    outbox: Path,
    kind: str,
    customer: int,
    truth: dict[str, set[int]],
    plan: Plan,
    checker: psycopg.Connection,
    probe: Probe,
    timings: Timings | None,
    wrap: Callable[[Callable[[], str]], str] = lambda f: f(),
) -> list[str]:
    """One request of ``kind`` for ``customer``; timings recorded unless ``None`` (warm-up)."""
    to = email_of(customer)
    began = time.perf_counter()
    received = charter.requests.submit(NewRequest(kind, BRAND, {"email": to}))
    submitted = time.perf_counter()
    code = code_from(outbox, to)
    looked_up = time.perf_counter()
    charter.requests.verify(received.id, code)
    verified = time.perf_counter()
    if kind == "erasure":
        charter.requests.approve(received.id, "staff:bench")
    approved = time.perf_counter()
    probe.take()
    started = time.perf_counter()
    status = wrap(lambda: charter.rights.run(received.id))
    elapsed = (time.perf_counter() - started) * 1000
    shop_counts, store_count, parts = probe.take()
    charter.outbox.deliver()  # the worker's outbox round, after the requests' round: not timed
    probe.take()
    if timings is not None:
        timings.run.append(elapsed)
        timings.intake.append((submitted - began + verified - looked_up) * 1000)
        timings.approve.append((approved - verified) * 1000)
        timings.shop.append(shop_counts)
        timings.store.append(store_count)
        timings.parts.append(parts)
    who = f"{kind} of customer {customer}"
    if status != "completed":
        return [f"{who}: run() returned {status!r}"]
    if kind == "access":
        wrong = check_package(charter.requests.package(received.id), truth, who)
    else:
        wrong = check_erased(checker, plan, truth, who)
    clear(outbox)
    return wrong


def charter_pass(
    label: str,
    folder: Path,
    manifest: Path,
    plan: Plan,
    store_url: str,
    url: str,
    schema: str,
    people: dict[str, list[int]],
    truth: dict[int, dict[str, set[int]]],
    args: argparse.Namespace,
) -> tuple[Pass, list[str]]:
    result = Pass(label)
    wrong: list[str] = []
    folder.mkdir(parents=True, exist_ok=True)
    outbox = folder / "outbox"
    shop_url = scoped(url, schema)
    shop = make_engine(shop_url)
    try:
        with (
            charter_for(folder, manifest, store_url, shop) as (charter, _settings),
            psycopg_connect(url, schema, autocommit=True) as checker,
        ):
            probe = Probe(charter, shop)
            for customers in people.values():
                for customer in customers:
                    purchase(charter, customer)
            clear(outbox)

            def run(
                kind: str,
                customers: list[int],
                timings: Timings | None,
                wrap: Callable[[Callable[[], str]], str] = lambda f: f(),
            ) -> None:
                for customer in customers:
                    if kind == "erasure":
                        result.erased.append(customer)
                    wrong.extend(
                        one_request(
                            charter,
                            outbox,
                            kind,
                            customer,
                            truth[customer],
                            plan,
                            checker,
                            probe,
                            timings,
                            wrap,
                        )
                    )

            warm, n = args.warm_up, args.requests
            run("access", people["access"][:warm], None)
            run("erasure", people["erasure"][:warm], None)
            gc.collect()
            before = rss_mib()
            run("access", people["access"][warm : warm + n], result.access)
            run("erasure", people["erasure"][warm : warm + n], result.erasure)
            gc.collect()
            result.rss = (before, rss_mib())
            if result.rss[1] - before >= args.max_growth_mib:
                tracemalloc.start(25)
                first = tracemalloc.take_snapshot()
                run("access", people["diagnose_access"], None)
                run("erasure", people["diagnose_erasure"], None)
                gc.collect()
                stats = tracemalloc.take_snapshot().compare_to(first, "traceback")
                tracemalloc.stop()
                for stat in stats[:8]:
                    result.growth.append(f"{stat.size_diff / 1024:+.1f} KiB {stat.count_diff:+d}")
                    result.growth += [f"    {line}" for line in stat.traceback.format()[-6:]]
            if args.profile:
                profiler = cProfile.Profile()

                def profiled(f: Callable[[], str]) -> str:
                    profiler.enable()
                    try:
                        return f()
                    finally:
                        profiler.disable()

                run("access", people["profile_access"], None, profiled)
                run("erasure", people["profile_erasure"], None, profiled)
                out = io.StringIO()
                stats_ = pstats.Stats(profiler, stream=out)
                stats_.sort_stats("cumulative").print_stats(30)
                stats_.sort_stats("tottime").print_stats(20)
                result.profile = out.getvalue()
    finally:
        shop.dispose()
    return result, wrong


# --- the run --------------------------------------------------------------------------------


def statements_per_table(counts: list[dict[str, int]]) -> tuple[str, int]:
    """The median statements per request, the most any request sent to each table, and the
    most to one table."""
    if not counts:
        return "-", 0
    keys = [t for t in (*TABLES, "catalogue") if any(t in c for c in counts)]
    most = {k: max(c.get(k, 0) for c in counts) for k in keys}
    total = statistics.median(sum(c.values()) for c in counts)
    worst = max((most[t] for t in TABLES if t in most), default=0)
    return f"{total:.0f}: " + ", ".join(f"{k} {v}" for k, v in most.items()), worst


@dataclass
class People:
    """The customers each pass uses, by role (access, erasure, diagnose_*, profile_*)."""

    passes: dict[str, dict[str, list[int]]]

    @classmethod
    def draw(cls, passes: list[str], args: argparse.Namespace) -> People:
        each = args.warm_up + args.requests
        roles = {
            "access": each,
            "erasure": each,
            "diagnose_access": DIAGNOSE,
            "diagnose_erasure": DIAGNOSE,
            "profile_access": args.profile,
            "profile_erasure": args.profile,
        }
        need = len(passes) * sum(roles.values())
        if need > args.customers:
            raise StepFailed(f"{need:,} customers needed, {args.customers:,} seeded")
        pool = iter(random.Random(args.seed).sample(range(args.customers), need))
        return cls(
            {p: {role: [next(pool) for _ in range(n)] for role, n in roles.items()} for p in passes}
        )

    def all(self) -> set[int]:
        return {c for roles in self.passes.values() for cs in roles.values() for c in cs}


def copy_shop(url: str, schema: str, customers: int, seed: int) -> Shop:
    """``create_shop``'s tables and rows (its own generator, ``_customer_rows``, so the same
    customers and seed give the same rows and the same ``Shop``), written with ``COPY`` in
    batches of 50,000 order items instead of ``executemany``: about six times faster."""
    engine = create_engine(scoped(url, schema))
    metadata = shop_metadata()
    metadata.create_all(engine)
    engine.dispose()
    columns = {t: [c.name for c in metadata.tables[t].columns] for t in TABLES}
    shop = Shop(customers)
    rows: dict[str, list[dict[str, Any]]] = {t: [] for t in TABLES}
    with psycopg_connect(url, schema) as connection:

        def flush() -> None:
            for t in TABLES:  # parents first, as create_shop does: foreign keys hold
                with connection.cursor().copy(
                    f"COPY {t} ({', '.join(columns[t])}) FROM STDIN"
                ) as copy:
                    for row in rows[t]:
                        copy.write_row([row.get(c) for c in columns[t]])
                rows[t].clear()

        for customer in range(customers):
            _customer_rows(random.Random(f"{seed}:{customer}"), customer, shop, rows)
            if len(rows["order_items"]) >= 50_000:
                flush()
        flush()
        for t in TABLES:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {t}), false)"
            )
        connection.commit()
    return shop


def seed_shop(
    url: str, schema: str, args: argparse.Namespace, wanted: Callable[[], set[int]]
) -> tuple[dict[str, int], dict[int, dict[str, set[int]]], str]:
    """The shop seeded and indexed: rows per table, the truth for the wanted customers, a note."""
    began = time.perf_counter()
    if args.seed_with == "copy":
        shop = copy_shop(url, schema, args.customers, args.seed)
    else:
        shop = create_shop(scoped(url, schema), args.customers, seed=args.seed)
    seeded = time.perf_counter() - began
    began = time.perf_counter()
    with psycopg_connect(url, schema, autocommit=True) as connection:
        for statement in INDEXES:
            connection.execute(statement)
        connection.execute("ANALYZE")
        indexed = time.perf_counter() - began
        counts = table_counts(connection)
    customers = wanted()
    truth: dict[int, dict[str, set[int]]] = {c: {t: set() for t in TABLES} for c in customers}
    for table, owners in shop.owners.items():
        for k, owner in enumerate(owners):
            if owner in customers:
                truth[owner][table].add(k + 1)
    for customer in sorted(customers)[:2]:
        if shop.rows_of(customer) != truth[customer]:
            raise StepFailed(f"the truth for customer {customer} differs from Shop.rows_of")
    note = (
        f"shop: {args.customers:,} customers, {sum(counts.values()):,} rows in {len(TABLES)} "
        f"tables ({', '.join(f'{t} {c:,}' for t, c in counts.items())}); seeded "
        f"({'COPY' if args.seed_with == 'copy' else 'create_shop'}) in "
        f"{seeded:.0f} s, indexes + ANALYZE {indexed:.0f} s"
    )
    return counts, truth, note


def server_run(
    url: str, name: str, args: argparse.Namespace, rows: list[tuple[str, ...]], notes: list[str]
) -> bool:
    """Everything on one PostgreSQL server; returns whether something was wrong."""
    notes.append(f"{name}: {make_url(url).render_as_string()} ({server_settings(url)})")
    passes = ["baseline", "sqlite"] + (["postgres"] if args.charter_postgres else [])
    people = People.draw(passes, args)
    schema = create_schema(url, "bench_rights")
    store_schema: str | None = None
    wrong: list[str] = []
    tmp = Path(tempfile.mkdtemp(prefix="charter-rights-"))
    try:
        manifest = manifest_copy(tmp)
        plan = Plan.of(load_manifest(manifest))
        seeded, truth, note = seed_shop(url, schema, args, people.all)
        notes.append(f"  {note}")
        gc.collect()

        began = time.perf_counter()
        base, found = baseline_pass(url, schema, plan, people.passes["baseline"], truth, args)
        base.seconds = time.perf_counter() - began
        wrong += found
        results: list[Pass] = []
        for p in passes[1:]:
            if p == "postgres":
                store_schema = create_schema(url, "bench_rights_store")
                store_url, label = scoped(url, store_schema), "Charter store on PostgreSQL"
            else:
                store_url = f"sqlite:///{tmp / p / 'charter.db'}"
                label = "Charter store on SQLite"
            began = time.perf_counter()
            result, found = charter_pass(
                label,
                tmp / p,
                manifest,
                plan,
                store_url,
                url,
                schema,
                people.passes[p],
                truth,
                args,
            )
            result.seconds = time.perf_counter() - began
            wrong += found
            results.append(result)

        deleted = dict.fromkeys(TABLES, 0)
        for c in (c for r in (base, *results) for c in r.erased):
            for t in plan.deleted:
                deleted[t] += len(truth[c][t])
        with psycopg_connect(url, schema, autocommit=True) as connection:
            after = table_counts(connection)
        for t in TABLES:
            if after[t] != seeded[t] - deleted[t]:
                wrong.append(f"{t}: {after[t]:,} rows at the end, not {seeded[t] - deleted[t]:,}")
        report(name, plan, base, results, rows, notes)
        for result in results:
            if result.profile:
                notes.append(
                    f"  cProfile, {args.profile} access + {args.profile} erasure run() "
                    f"({result.label}):\n{result.profile}"
                )
    finally:
        if args.keep:
            notes.append(f"  kept schema {schema} and {tmp}")
        else:
            drop_schema(url, schema)
            shutil.rmtree(tmp, ignore_errors=True)
            if store_schema is not None:
                drop_schema(url, store_schema)
    for line in wrong[:20]:
        notes.append(f"  WRONG: {line}")
    if len(wrong) > 20:
        notes.append(f"  ... and {len(wrong) - 20} more")
    return bool(wrong)


def report(
    name: str,
    plan: Plan,
    base: Pass,
    results: list[Pass],
    rows: list[tuple[str, ...]],
    notes: list[str],
) -> None:
    def median(values: Sequence[float]) -> float:
        return statistics.median(values) if values else float("inf")

    tables = len(plan.order)
    for result in results:
        where = f"{name}, {result.label}"
        rows.append((f"[{where}]", "", "", "", ""))
        for kind, target in (("access", TARGET_ACCESS_MS), ("erasure", TARGET_ERASURE_MS)):
            timings: Timings = getattr(result, kind)
            rows.append(
                (
                    f"{kind}: run(), ms median / p95 / max",
                    ms(timings.run),
                    f"<= {target:.0f} median",
                    ms(getattr(base, kind).run),
                    "yes" if median(timings.run) <= target else "NO",
                )
            )
        for kind in ("access", "erasure"):
            timings = getattr(result, kind)
            shown, worst = statements_per_table(timings.shop)
            notes.append(f"  {where}: {kind}, shop statements per request: {shown}")
            total = median([sum(c.values()) for c in timings.shop])
            rows.append(
                (
                    f"{kind}: shop statements per request",
                    f"{total:.0f} (at most {worst} per table)",
                    "<= 1 per table" if kind == "access" else "",
                    f"{tables}" if kind == "access" else f"{tables} SELECT + {tables} writes",
                    ("yes" if worst <= 1 else "NO") if kind == "access" else "",
                )
            )
        rows.append(
            (
                "Charter store statements per access / erasure",
                f"{median(result.access.store):.0f} / {median(result.erasure.store):.0f}",
                "",
                "",
                "",
            )
        )
        rows.append(
            (
                "intake (submit + verify), ms median / p95 / max",
                ms(result.access.intake + result.erasure.intake),
                "",
                "",
                "",
            )
        )
        before, after = result.rss
        rows.append(
            (
                "RSS after warm-up -> after the requests",
                f"{before:.1f} -> {after:.1f} MiB ({after - before:+.1f})",
                "no growth",
                "",
                "yes" if not result.growth else "NO",
            )
        )
        for kind in ("access", "erasure"):
            parts: list[dict[str, float]] = getattr(result, kind).parts
            runs: list[float] = getattr(result, kind).run
            names = sorted(
                {k for p in parts for k in p}, key=lambda k: -sum(p.get(k, 0) for p in parts)
            )
            shown = [f"{k} {median([p.get(k, 0.0) for p in parts]):.1f}" for k in names]
            rest = median([r - sum(p.values()) for r, p in zip(runs, parts, strict=True)])
            notes.append(
                f"  {where}: {kind} run(), median ms by part: {', '.join(shown)}, "
                f"rest (claim, plan, finish, release) {rest:.1f}"
            )
        if result.growth:
            notes.append(f"  {where}: tracemalloc, top growth over {DIAGNOSE} + {DIAGNOSE} more:")
            notes += [f"    {line}" for line in result.growth]
        notes.append(
            f"  {where}: approve (erasure), ms median {median(result.erasure.approve):.1f}; "
            f"the pass took {result.seconds:.0f} s (baseline: {base.seconds:.0f} s)"
        )


def show(rows: list[tuple[str, ...]], notes: list[str]) -> None:
    header = ("measure", "Charter", "target", "baseline (raw SQL)", "meets")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print("Rights requests end to end (bench/rights.py)")
    for r in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    for note in notes:
        print(note)


def reachable(url: str) -> bool:
    try:
        psycopg.connect(conninfo(url), connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100, help="measured, per type")
    parser.add_argument("--warm-up", type=int, default=10, help="per type, not measured")
    parser.add_argument("--postgres-url", default=os.environ.get("CHARTER_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--durable-url",
        default=DURABLE_URL,
        help="a second server (fsync on), measured too when it answers; '' to skip",
    )
    parser.add_argument(
        "--charter-postgres",
        action="store_true",
        help="also a pass with Charter's store in PostgreSQL (the same server)",
    )
    parser.add_argument("--profile", type=int, default=0, help="cProfile N more of each type")
    parser.add_argument("--max-growth-mib", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--seed-with",
        choices=("copy", "create_shop"),
        default="copy",
        help="the fixture's rows written by COPY (default), or create_shop itself (slower)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the schemas and the folder")
    args = parser.parse_args()
    if not args.postgres_url:
        print("rights: --postgres-url or CHARTER_TEST_POSTGRES_URL is required", file=sys.stderr)
        return 1

    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    failed = False
    servers = [(args.postgres_url, "test cluster")]
    if args.durable_url and args.durable_url != args.postgres_url:
        if reachable(args.durable_url):
            servers.append((args.durable_url, "durable"))
        else:
            notes.append(f"durable server {make_url(args.durable_url)}: not reachable, skipped")
    try:
        for url, name in servers:
            failed |= server_run(url, name, args, rows, notes)
    except StepFailed as exc:
        print(f"rights: FAILED: {exc}", file=sys.stderr)
        failed = True
    show(rows, notes)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
