"""Durable consent writes per second on SQLite and PostgreSQL, beside a raw INSERT + COMMIT.

What is measured (issue 3, item 7):

1. **Set-up.** For each database: ``charter.bootstrap.initialise`` with the example manifest
   (SQLite: a file in a temporary folder; PostgreSQL: a fresh schema in ``--postgres-url`` or
   ``CHARTER_TEST_POSTGRES_URL``), then ``--subjects`` people (default 2,000) created through
   ``Charter.record_consent`` with an email identity (not timed).
2. **Charter.** ``--threads`` threads (default 8) share one ``Charter`` and each call
   ``record_consent`` in a loop with ``subject_id`` (a seeded random subject), purpose
   ``marketing_communications``, action ``give`` or ``withdraw`` alternately, the notice text.
   A write counts once ``record_consent`` has returned, that is after the transaction that
   appended the event and updated the subject's state committed (SQLite: WAL,
   ``synchronous=FULL``, ``BEGIN IMMEDIATE``; PostgreSQL: the server's ``synchronous_commit``).
   Runs for ``--seconds`` (default 10) or ``--writes`` writes, whichever ends first.
3. **Baseline.** The same number of threads, each with its own plain driver connection
   (``sqlite3`` with the same pragmas and ``BEGIN IMMEDIATE``; ``psycopg``), doing
   ``INSERT`` of an equivalent row into a table shaped like ``consent_events`` and ``COMMIT``,
   one row per transaction.
4. The PostgreSQL server's ``fsync`` and ``synchronous_commit`` settings are printed: a test
   cluster with them off (``.ci/postgres.sh``) acknowledges commits that are not durable, and
   its figures are not durable writes.

Usage: python bench/consent_writes.py [--threads N] [--seconds S] [--writes N] [--subjects N]
        [--postgres-url URL] [--skip-postgres]
Exits 1 if a step fails or a write is lost (events counted afterwards differ from the acks).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.services.consents import ConsentRequest
from charter.storage.tables import consent_events

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = REPO_ROOT / "examples" / "musicgroup" / "charter.yaml"
BRAND = "akkord_pro"
PURPOSE = "marketing_communications"
NOTICE = "Send me news and offers from Akkord Pro by email."
TARGET_PER_S = 2_000

BASELINE_DDL = (
    "CREATE TABLE plain_events (id {pk}, subject_id VARCHAR(36) NOT NULL, "
    "brand VARCHAR(64) NOT NULL, purpose VARCHAR(64) NOT NULL, purpose_version INTEGER NOT NULL, "
    "action VARCHAR(16) NOT NULL, notice_hash VARCHAR(64) NOT NULL, "
    "policy_version VARCHAR(64) NOT NULL, method VARCHAR(32) NOT NULL, "
    "occurred_at {ts} NOT NULL, channel VARCHAR(16) NOT NULL)"
)
BASELINE_INSERT = (
    "INSERT INTO plain_events (subject_id, brand, purpose, purpose_version, action, notice_hash, "
    "policy_version, method, occurred_at, channel) VALUES ({marks})"
)


@dataclass
class Run:
    writes: int
    seconds: float
    errors: list[str]

    @property
    def rate(self) -> float:
        return self.writes / self.seconds if self.seconds else 0.0


def hammer(
    threads: int, seconds: float, limit: int, work: Callable[[int], Callable[[], None]]
) -> Run:
    """Run ``work(thread_number)()`` in ``threads`` threads until the time or the count is up."""
    lock = threading.Lock()
    count = [0]
    errors: list[str] = []
    stop_at = [0.0]
    barrier = threading.Barrier(threads + 1)

    def loop(n: int) -> None:
        step = work(n)
        barrier.wait()
        while time.perf_counter() < stop_at[0]:
            with lock:
                if count[0] >= limit:
                    return
                count[0] += 1
            try:
                step()
            except Exception as exc:  # counted and shown, never hidden
                with lock:
                    count[0] -= 1
                    errors.append(repr(exc))
                return

    pool = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    stop_at[0] = time.perf_counter() + seconds + 3600  # set for real once all are ready
    barrier.wait()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    for t in pool:
        t.join()
    return Run(count[0], time.perf_counter() - began, errors)


def charter_run(settings: Settings, args: argparse.Namespace) -> tuple[Run, int, int]:
    """Charter's writes; returns the run, the events counted before and after."""
    initialise(settings)
    with Charter.open(settings) as charter:
        ids = []
        for i in range(args.subjects):
            recorded = charter.record_consent(
                ConsentRequest(
                    BRAND,
                    PURPOSE,
                    "give",
                    notice=NOTICE,
                    identities={"email": f"person{i}@example.org"},
                )
            )
            ids.append(recorded.subject_id)
        with charter.store.read() as connection:
            before = int(connection.scalar(select(func.count()).select_from(consent_events)))

        def work(n: int) -> Callable[[], None]:
            rng = random.Random(n)
            actions = ("withdraw", "give")
            turn = [0]

            def step() -> None:
                turn[0] += 1
                charter.record_consent(
                    ConsentRequest(
                        BRAND,
                        PURPOSE,
                        actions[turn[0] % 2],
                        notice=NOTICE,
                        subject_id=ids[rng.randrange(len(ids))],
                    )
                )

            return step

        run = hammer(args.threads, args.seconds, args.writes, work)
        with charter.store.read() as connection:
            after = int(connection.scalar(select(func.count()).select_from(consent_events)))
    return run, before, after


def row_values() -> tuple[object, ...]:
    return (
        str(uuid.uuid4()),
        BRAND,
        PURPOSE,
        1,
        "given",
        "0" * 64,
        "2026-01",
        "api",
        dt.datetime.now(dt.UTC).isoformat(),
        "any",
    )


def sqlite_baseline(
    path: Path, args: argparse.Namespace, rows_per_commit: int = 1, limit: int | None = None
) -> Run:
    """Plain sqlite3 connections with Charter's durability settings, each transaction
    ``rows_per_commit`` INSERTs of a consent-event-shaped row."""

    def connect() -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=FULL"):
            db.execute(f"PRAGMA {pragma}")
        return db

    setup = connect()
    setup.execute(BASELINE_DDL.format(pk="INTEGER PRIMARY KEY", ts="TEXT"))
    setup.close()
    sql = BASELINE_INSERT.format(marks=", ".join("?" * 10))

    def work(_n: int) -> Callable[[], None]:
        db = connect()

        def step() -> None:
            db.execute("BEGIN IMMEDIATE")
            for _ in range(rows_per_commit):
                db.execute(sql, row_values())
            db.execute("COMMIT")

        return step

    return hammer(args.threads, args.seconds, args.writes if limit is None else limit, work)


def postgres_baseline(url: str, args: argparse.Namespace) -> Run:
    import psycopg

    parsed = make_url(url)
    options = parsed.query.get("options")
    conninfo = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)

    def connect() -> psycopg.Connection:
        return psycopg.connect(conninfo, options=str(options) if options else None)

    with connect() as setup:
        setup.execute(BASELINE_DDL.format(pk="BIGSERIAL PRIMARY KEY", ts="TIMESTAMPTZ"))
        setup.commit()
    sql = BASELINE_INSERT.format(marks=", ".join(["%s"] * 10))

    def work(_n: int) -> Callable[[], None]:
        db = connect()

        def step() -> None:
            db.execute(sql, row_values())
            db.commit()

        return step

    return hammer(args.threads, args.seconds, args.writes, work)


def postgres_schema(url: str) -> tuple[str, str]:
    """A fresh schema in ``url``'s database; the URL that uses it, and the schema's name."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False), schema


def postgres_settings(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        fsync = connection.exec_driver_sql("SHOW fsync").scalar()
        sync = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
    engine.dispose()
    return f"fsync={fsync}, synchronous_commit={sync}"


def drop_schema(url: str, schema: str) -> None:
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--writes", type=int, default=100_000)
    parser.add_argument("--subjects", type=int, default=2_000)
    parser.add_argument("--postgres-url", default=os.environ.get("CHARTER_TEST_POSTGRES_URL"))
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    failed = False

    def add(label: str, run: Run, target: bool) -> None:
        nonlocal failed
        rows.append(
            (
                label,
                f"{run.rate:,.0f}",
                f">= {TARGET_PER_S:,}" if target else "",
                ("yes" if run.rate >= TARGET_PER_S else "NO") if target else "",
            )
        )
        notes.append(f"{label}: {run.writes:,} writes in {run.seconds:.1f} s")
        if run.errors:
            failed = True
            notes.append(f"  {len(run.errors)} errors, first: {run.errors[0]}")

    with tempfile.TemporaryDirectory(prefix="charter-writes-") as tmp:
        folder = Path(tmp)
        settings = Settings(
            database_url=f"sqlite:///{folder / 'charter.db'}",
            manifest=MANIFEST,
            key_file=folder / "charter.key",
            outbox_dir=folder / "outbox",
        )
        run, before, after = charter_run(settings, args)
        add(f"SQLite: record_consent/s ({args.threads} threads)", run, True)
        if after - before != run.writes:
            failed = True
            notes.append(f"  SQLite: {run.writes} acknowledged, {after - before} stored")
        add(
            f"SQLite baseline: INSERT + COMMIT/s ({args.threads} connections)",
            sqlite_baseline(folder / "plain.db", args),
            False,
        )
        notes.append(f"SQLite files in {folder} (synchronous=FULL, WAL)")

        if args.skip_postgres or not args.postgres_url:
            notes.append("PostgreSQL: not measured (no --postgres-url)")
        else:
            notes.append(f"PostgreSQL server: {postgres_settings(args.postgres_url)}")
            for purpose in ("charter", "baseline"):
                url, schema = postgres_schema(args.postgres_url)
                try:
                    if purpose == "charter":
                        pg = settings.model_copy(update={"database_url": url})
                        run, before, after = charter_run(pg, args)
                        add(f"PostgreSQL: record_consent/s ({args.threads} threads)", run, True)
                        if after - before != run.writes:
                            failed = True
                            notes.append(
                                f"  PostgreSQL: {run.writes} acknowledged, {after - before} stored"
                            )
                    else:
                        add(
                            f"PostgreSQL baseline: INSERT + COMMIT/s ({args.threads} connections)",
                            postgres_baseline(url, args),
                            False,
                        )
                finally:
                    drop_schema(args.postgres_url, schema)

    header = ("measure", "value", "target", "meets")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print("Durable consent writes (bench/consent_writes.py)")
    for r in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    for note in notes:
        print(note)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
