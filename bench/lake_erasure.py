"""Erasing one person from the event lake: the bucketed rewrite against a full rewrite.

What is measured (issue 8, item 4: erasure of one person from 10M events in under 0.5 s on
DuckDB, against a full rewrite; the same erasure on Spark local mode):

1. **Data** (not timed). ``--events`` page views (default 10,000,000) of ``--people`` people
   (default 1,000,000; ten events each, 30 % of them with an account id), over ``--days`` days
   (default 30), written by DuckDB's ``COPY ... PARTITION_BY (day, bucket)`` in the lake layout
   of ``charter.domain.lake`` (32 buckets of the cookie id's SHA-256, so 960 files of about
   10,000 rows each). The buckets come from ``bucket_of`` itself, so the connector finds the
   rows where the layout put them.
2. **Charter, DuckDB, by cookie id.** ``ParquetConnector.erase({"cookie_id": [c]})`` for
   ``--runs`` different people (median, and the slowest): tally the 30 files of the person's
   bucket, rewrite those that hold them (temporary file, fsync, rename), delete none.
3. **Charter, DuckDB, by account id.** The same for an account id, which is not bucketed: one
   pass reads the ``account_id`` column of every file (projection and row-group statistics),
   then the files found are rewritten.
4. **Baseline.** What a lake without the bucketed layout must do: ``COPY`` every row but the
   person's to a new dataset (same partitioning), i.e. rewrite all 10M rows.
5. **Charter, Spark local mode** (``--spark-master``, default ``local[2]``): the same bucketed
   erasure on the Spark engine; the session's start and the first (cold) erasure are shown
   apart from the median of the warm ones. ``--skip-spark`` leaves it out.

After each erasure the person's rows are counted over the whole lake (must be 0) and the total
must have fallen by exactly their rows; otherwise the script exits 1.

Usage: python bench/lake_erasure.py [--events N] [--people N] [--days N] [--runs N]
                                   [--dir PATH] [--spark-master URL] [--skip-spark]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa

from charter.connectors.parquet import DuckDBEngine, LakeEngine, ParquetConnector
from charter.domain.lake import bucket_of
from charter.manifest.models import System

TARGET = 0.5
SYSTEM = System.model_validate(
    {
        "name": "Event lake",
        "connector": "parquet",
        "connection_env": "EVENTS_LAKE_URL",
        "tables": {
            "page_views": {
                "identities": {"cookie_id": "cookie_id", "account_id": "account_id"},
                "primary_key": "event_id",
                "columns": {
                    "cookie_id": {"category": "user.device.cookie_id", "erasure": "delete_row"},
                    "account_id": {"category": "user.unique_id"},
                    "ip_address": {"category": "user.device.ip_address", "erasure": "mask"},
                    "page_url": {"category": "user.behavior.browsing_history"},
                },
            }
        },
    }
)


def cookie(person: int) -> str:
    return f"ck-{person:07d}-bench"


def account(person: int) -> str | None:
    return f"acct-{person:07d}" if person % 10 < 3 else None


def generate(root: Path, events: int, people: int, days: int) -> None:
    """The synthetic lake (see the module docstring); each person's events spread over days."""
    ids = list(range(people))
    cookies = [cookie(p) for p in ids]
    table = pa.table(
        {
            "person": pa.array(ids, pa.int64()),
            "cookie_id": cookies,
            "account_id": [account(p) for p in ids],
            "bucket": [f"{bucket_of(c):02d}" for c in cookies],
        }
    )
    root.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as db:
        db.execute("SET TimeZone = 'UTC'")
        db.register("people", table)
        db.execute(
            f"""
            COPY (
              SELECT
                'ev-' || e.i AS event_id,
                TIMESTAMPTZ '2026-03-01 00:00:00+00'
                  + to_days(CAST(hash(e.i) % {days} AS INTEGER))
                  + to_seconds(CAST(hash(e.i * 7) % 86400 AS BIGINT)) AS occurred_at,
                ['akkord_pro', 'tonwerk', 'klangbau'][1 + p.person % 3] AS brand,
                p.cookie_id,
                p.account_id,
                '198.51.' || (p.person % 256) || '.0' AS ip_address,
                ['DE', 'FR', 'US', 'GB', 'JP', NULL][1 + p.person % 6] AS country,
                ['desktop', 'mobile', 'tablet'][1 + p.person % 3] AS device_type,
                ['Windows', 'macOS', 'Linux', 'Android', 'iOS'][1 + p.person % 5]
                  AS operating_system,
                ['Firefox', 'Chrome', 'Safari'][1 + p.person % 3] AS browser,
                'https://akkord.example/p/' || (hash(e.i * 13) % 5000) AS page_url,
                CASE WHEN e.i % 4 = 0 THEN 'https://search.example/' END AS referrer,
                ['synthesizers', 'mixers', NULL][1 + e.i % 3] AS product_line,
                'analytics' AS category,
                strftime(TIMESTAMPTZ '2026-03-01 00:00:00+00'
                  + to_days(CAST(hash(e.i) % {days} AS INTEGER)), '%Y-%m-%d') AS day,
                p.bucket
              FROM range({events}) AS e(i)
              JOIN people AS p ON p.person = e.i % {people}
            ) TO '{root / "page_views"}'
            (FORMAT parquet, PARTITION_BY (day, bucket), FILENAME_PATTERN '{{uuid}}',
             COMPRESSION zstd)
            """
        )


def files(root: Path) -> list[str]:
    return sorted(str(p) for p in (root / "page_views").glob("day=*/bucket=*/*.parquet"))


def count(root: Path, where: str = "true", params: list[object] | None = None) -> int:
    with duckdb.connect() as db:
        row = db.execute(
            f"SELECT count(*) FROM read_parquet(?, hive_partitioning=false) WHERE {where}",
            [files(root), *(params or [])],
        ).fetchone()
    return int(row[0]) if row else 0


def erase(root: Path, engine: LakeEngine, identities: dict[str, list[str]]) -> float:
    """One erasure, timed; checked: nothing of the person left, nothing else gone."""
    column, values = next(iter(identities.items()))
    mine = count(root, f"{column} = ?", [values[0]])
    total = count(root)
    connector = ParquetConnector("events", SYSTEM, root, engine, {})
    started = time.perf_counter()
    outcome = connector.erase(identities)[0]
    elapsed = time.perf_counter() - started
    left = count(root, f"{column} = ?", [values[0]])
    if left or outcome.rows_deleted != mine or count(root) != total - mine:
        print(f"FAILED: {left} rows left, {outcome.rows_deleted} deleted of {mine}")
        sys.exit(1)
    return elapsed


def full_rewrite(root: Path, target: Path, person: str) -> float:
    """The baseline: every row but the person's, written to a new dataset."""
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with duckdb.connect() as db:
        db.execute("SET TimeZone = 'UTC'")
        db.execute(
            f"""
            COPY (
              SELECT * FROM read_parquet('{root}/page_views/*/*/*.parquet', hive_partitioning=true,
                hive_types={{'day': VARCHAR, 'bucket': VARCHAR}})
              WHERE cookie_id <> ?
            ) TO '{target / "page_views"}'
            (FORMAT parquet, PARTITION_BY (day, bucket), FILENAME_PATTERN '{{uuid}}',
             COMPRESSION zstd)
            """,
            [person],
        )
    return time.perf_counter() - started


def series(runs: int, first: int, one: Callable[[int], float]) -> list[float]:
    return [one(first + k * 7919) for k in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument("--skip-spark", action="store_true")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="lake-bench-", dir=args.dir))
    root = base / "lake"
    try:
        started = time.perf_counter()
        generate(root, args.events, args.people, args.days)
        made = time.perf_counter() - started
        size = sum(Path(f).stat().st_size for f in files(root))
        print(
            f"{args.events:,} events of {args.people:,} people in {len(files(root))} files "
            f"({size / 1e6:,.0f} MB), written in {made:.1f} s"
        )
        rows: list[tuple[str, float, float, str]] = []
        duck = DuckDBEngine()
        by_cookie = series(args.runs, 11, lambda p: erase(root, duck, {"cookie_id": [cookie(p)]}))
        rows.append(("DuckDB, bucketed, by cookie id", *_stats(by_cookie)))
        by_account = series(
            args.runs,
            20,  # person % 10 < 3 have an account: 20, 20 + 7919 * k ... chosen below
            lambda p: erase(root, duck, {"account_id": [str(account(_with_account(p)))]}),
        )
        rows.append(("DuckDB, account id (column scan)", *_stats(by_account)))
        baseline = [full_rewrite(root, base / "rewritten", cookie(3))]
        shutil.rmtree(base / "rewritten", ignore_errors=True)
        rows.append(("Baseline: DuckDB full rewrite", *_stats(baseline)))
        if not args.skip_spark:
            from charter.connectors.spark import SparkEngine

            started = time.perf_counter()
            spark = SparkEngine.start(args.spark_master)
            spark.session.sparkContext.setLogLevel("ERROR")
            boot = time.perf_counter() - started
            cold = erase(root, spark, {"cookie_id": [cookie(5)]})
            warm = series(args.runs, 17, lambda p: erase(root, spark, {"cookie_id": [cookie(p)]}))
            rows.append((f"Spark {args.spark_master}, bucketed, warm", *_stats(warm)))
            rows[-1] = (*rows[-1][:3], f"start {boot:.1f} s, first {cold:.2f} s")
            spark.session.stop()
        print(f"\n{'erasure of one person':<36} {'median s':>9} {'max s':>7}  note")
        for name, median, slowest, note in rows:
            print(f"{name:<36} {median:>9.3f} {slowest:>7.3f}  {note}")
        verdict = "met" if rows[0][1] < TARGET else "MISSED"
        print(f"\ntarget: bucketed DuckDB erasure < {TARGET} s: {verdict}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _with_account(person: int) -> int:
    """The nearest person at or after ``person`` who has an account id."""
    while account(person) is None:
        person += 1
    return person


def _stats(times: list[float]) -> tuple[float, float, str]:
    return statistics.median(times), max(times), f"{len(times)} runs"


if __name__ == "__main__":
    main()
