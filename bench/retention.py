"""Expired values swept per second on SQLite and PostgreSQL, beside a raw DELETE.

What is measured (issue 6, item 1: target >= 100,000 expired values a second on each):

1. **Data.** ``--values`` personal values (default 1,000,000) of ``--values / 10`` people, written
   straight into Charter's tables (the sweep never opens a value, so the sealed bytes are
   random), spread over every (touchpoint, field, category) the example manifest declares and
   collected on 2026-01-15 (not timed). ``--layout submissions`` (the default) puts each
   person's ten values side by side, as a submission writes them (one INSERT of its values);
   ``--layout interleaved`` puts them 100,000 rows apart, which no write of Charter's produces,
   the worst case for the indexes (every deleted row touches other index pages).
2. **Charter.** ``charter.retention.sweep(as_of=2040-01-01)``: every rule with a period has run
   out by then and the tax law's hold has ended, so the sweep removes every value whose rule has
   a period, in windows of ``--batch`` ids (default 100,000), each its own transaction, and the
   identities then left without values; rules with criteria only keep theirs.
3. **Baseline.** The same data written again, then one plain ``DELETE FROM personal_values
   WHERE (touchpoint, category) IN (...)`` over the pairs the sweep removed, in one
   transaction.

Usage: python bench/retention.py [--values N] [--batch N] [--layout submissions|interleaved]
                                [--postgres-url URL] [--skip-postgres]
Exits 1 if the sweep and the baseline do not remove the same number of values.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from consent_writes import MANIFEST, drop_schema, postgres_schema
from sqlalchemy import Engine, delete, insert, select, tuple_

from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.manifest import load_manifest
from charter.storage.engine import make_engine
from charter.storage.tables import personal_values, subjects, submissions

COLLECTED = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
AS_OF = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
TARGET = 100_000


def populate(engine: Engine, values: int, layout: str = "submissions") -> None:
    """``values`` rows for ``values // 10`` people over the manifest's declared fields, each
    person's side by side or ``interleaved`` (see the module docstring)."""
    manifest = load_manifest(MANIFEST)
    fields = [
        (key, name, spec.category)
        for key, touchpoint in manifest.touchpoints.items()
        for name, spec in touchpoint.fields.items()
    ]
    people = max(1, values // 10)
    chunk = 50_000
    with engine.begin() as connection:
        ids = [str(uuid.uuid4()) for _ in range(people)]
        for start in range(0, people, chunk):
            part = ids[start : start + chunk]
            connection.execute(
                insert(subjects),
                [
                    {
                        "id": i,
                        "wrapped_key": b"k" * 40,
                        "key_id": "bench",
                        "created_at": COLLECTED,
                        "updated_at": COLLECTED,
                    }
                    for i in part
                ],
            )
            connection.execute(
                insert(submissions),
                [
                    {
                        "id": i,
                        "subject_id": i,
                        "brand": "akkord_pro",
                        "touchpoint": "support",
                        "policy_version": "bench",
                        "received_at": COLLECTED,
                    }
                    for i in part
                ],
            )
        rows = []
        for n in range(values):
            touchpoint, name, category = fields[n % len(fields)]
            subject = ids[n % people] if layout == "interleaved" else ids[min(n // 10, people - 1)]
            rows.append(
                {
                    "subject_id": subject,
                    "submission_id": subject,
                    "brand": "akkord_pro",
                    "touchpoint": touchpoint,
                    "field": name,
                    "category": category,
                    "purposes": [],
                    "value_sealed": os.urandom(40),
                    "collected_at": COLLECTED,
                    "last_activity_at": COLLECTED,
                }
            )
            if len(rows) == chunk:
                connection.execute(insert(personal_values), rows)
                rows = []
        if rows:
            connection.execute(insert(personal_values), rows)


def measure(settings: Settings, args: argparse.Namespace) -> tuple[float, int, float, int]:
    """(sweep seconds, values removed, baseline seconds, rows deleted) on one database."""
    initialise(settings)
    engine = make_engine(settings.database_url)  # the pragmas Charter uses (secure_delete ...)
    populate(engine, args.values, args.layout)
    with Charter.open(settings) as charter:
        began = time.perf_counter()
        report = charter.retention.sweep(AS_OF, batch_size=args.batch)
        swept = time.perf_counter() - began
    removed = sum(r.removed for r in report.rules)
    with engine.connect() as connection:
        left = {
            (row.touchpoint, row.category)
            for row in connection.execute(
                select(personal_values.c.touchpoint, personal_values.c.category).distinct()
            )
        }
    manifest = load_manifest(MANIFEST)
    gone = sorted(
        {(k, s.category) for k, t in manifest.touchpoints.items() for s in t.fields.values()} - left
    )
    with engine.begin() as connection:
        connection.execute(delete(personal_values))
        connection.execute(delete(submissions))
        connection.execute(delete(subjects))
    populate(engine, args.values, args.layout)
    began = time.perf_counter()
    with engine.begin() as connection:
        deleted = connection.execute(
            delete(personal_values).where(
                tuple_(personal_values.c.touchpoint, personal_values.c.category).in_(gone)
            )
        ).rowcount
    baseline = time.perf_counter() - began
    engine.dispose()
    return swept, removed, baseline, deleted


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--layout", choices=("submissions", "interleaved"), default="submissions")
    parser.add_argument("--postgres-url", default=os.environ.get("CHARTER_TEST_POSTGRES_URL"))
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    results: list[tuple[str, float, int, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="charter-sweep-") as tmp:
        folder = Path(tmp)
        settings = Settings(
            database_url=f"sqlite:///{folder / 'charter.db'}",
            manifest=MANIFEST,
            key_file=folder / "charter.key",
            outbox_dir=folder / "outbox",
        )
        results.append(("SQLite", *measure(settings, args)))
        if not args.skip_postgres and args.postgres_url:
            url, schema = postgres_schema(args.postgres_url)
            try:
                pg = settings.model_copy(update={"database_url": url})
                results.append(("PostgreSQL", *measure(pg, args)))
            finally:
                drop_schema(args.postgres_url, schema)
    head = "Charter sweep values/s | removed | raw DELETE rows/s | target"
    print(f"| {args.values:,} values ({args.layout}) | {head} |")
    print("| --- | ---: | ---: | ---: | --- |")
    failed = False
    for name, swept, removed, baseline, deleted in results:
        rate = removed / swept if swept else 0.0
        met = "yes" if rate >= TARGET else "NO"
        plain = deleted / baseline if baseline else 0.0
        print(
            f"| {name} | {rate:,.0f} ({swept:.2f} s) | {removed:,} | "
            f"{plain:,.0f} ({baseline:.2f} s) | >= {TARGET:,}: {met} |"
        )
        if removed != deleted:
            print(f"{name}: the sweep removed {removed:,}, the baseline {deleted:,}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
