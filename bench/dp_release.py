"""A person-protected differentially private release beside a plain DuckDB GROUP BY.

What is measured (issue 8, item 4: the DP release within 3x of the plain query):

1. **Data.** ``--events`` page views (default 10,000,000) of ``--people`` people (default
   1,000,000) over ``--days`` days (default 7), written by DuckDB itself (not timed) in the
   lake layout of ``charter.domain.lake``: ``page_views/day=YYYY-MM-DD/bucket=NN/<uuid>.parquet``,
   bucket = first four bytes of SHA-256(cookie id) mod 32. Every fifth person has an account id
   on their events; countries are skewed over 30 codes, device types over 4.
2. **Plain.** ``SELECT country, device_type, count(DISTINCT cookie_id) ... GROUP BY ALL``
   over the same files: what an analyst would run, protecting no one.
3. **Charter.** ``charter.statistics.release`` of a count by country x device type: the person
   resolved (account where the cookie was seen signed in, else cookie), contributions bounded
   (K = 1 row per cell, M = 4 cells per person, chosen by a salted hash), aggregated, laid on
   the public cell list (249 countries x 4 devices), OpenDP Laplace noise, suppression below k,
   margins, and the release, the ledger and the disclosure recorded in SQLite.

Each is run ``--runs`` times (default 3) after one warm-up; the median is reported.

Usage: python bench/dp_release.py [--events N] [--people N] [--days N] [--runs N] [--keep DIR]
Exits 1 if the ratio is above 3.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import yaml

from charter.bootstrap import initialise
from charter.config import Settings
from charter.domain.lake import BUCKETS, TABLE
from charter.facade import Charter
from charter.services.statistics import ReleaseRequest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "musicgroup" / "charter.yaml"
TARGET = 3.0
COUNTRIES = [
    "DE",
    "US",
    "GB",
    "FR",
    "IT",
    "ES",
    "NL",
    "SE",
    "PL",
    "JP",
    "CA",
    "AU",
    "BR",
    "MX",
    "IN",
    "CH",
    "AT",
    "BE",
    "DK",
    "NO",
    "FI",
    "IE",
    "PT",
    "CZ",
    "HU",
    "RO",
    "GR",
    "KR",
    "CN",
    "ZA",
]


def generate(root: Path, events: int, people: int, days: int) -> float:
    """Write the dataset with DuckDB; the seconds it took."""
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    countries = "[" + ", ".join(f"'{c}'" for c in COUNTRIES) + "]"
    with duckdb.connect() as connection:
        connection.execute("SET preserve_insertion_order = false")
        connection.execute(
            f"""
            COPY (
              WITH e AS (
                SELECT i, hash(i) % {people} AS p FROM range({events}) t(i)
              )
              SELECT
                'ev-' || i AS event_id,
                TIMESTAMPTZ '2026-03-01 00:00:00+00'
                  + to_seconds((hash(i * 7) % ({days} * 86400))::BIGINT) AS occurred_at,
                'akkord_pro' AS brand,
                'c' || p AS cookie_id,
                CASE WHEN p % 5 = 0 THEN 'a' || p END AS account_id,
                '192.0.2.0' AS ip_address,
                {countries}[1 + least(hash(p * 3) % 30, hash(p * 5) % 30)::BIGINT] AS country,
                ['desktop', 'mobile', 'tablet', 'other'][1 + (hash(i * 13) % 4)::BIGINT]
                  AS device_type,
                'Linux' AS operating_system,
                'Firefox' AS browser,
                'https://akkord.example.org/p/' || (i % 1000) AS page_url,
                NULL::VARCHAR AS referrer,
                NULL::VARCHAR AS product_line,
                'analytics' AS category,
                strftime(occurred_at, '%Y-%m-%d') AS day,
                lpad(((('0x' || substr(sha256(cookie_id), 1, 8))::UBIGINT) % {BUCKETS})::VARCHAR,
                     2, '0') AS bucket
              FROM e
            ) TO '{root / TABLE}'
            (FORMAT parquet, PARTITION_BY (day, bucket), FILENAME_PATTERN '{{uuid}}')
            """
        )
    return time.perf_counter() - started


def plain(files: list[str]) -> int:
    with duckdb.connect() as connection:
        rows = connection.execute(
            "SELECT country, device_type, count(DISTINCT cookie_id) FROM "
            "read_parquet($1, hive_partitioning = true) GROUP BY ALL",
            [files],
        ).fetchall()
    return len(rows)


def median_time(run: object, runs: int) -> float:
    assert callable(run)
    run()  # warm-up: the files' pages in the OS cache for both alike
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="Generate into (or reuse) this folder.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        root = args.keep or work / "lake"
        if not (root / TABLE).exists():
            seconds = generate(root, args.events, args.people, args.days)
            print(f"generated {args.events:,} events of {args.people:,} people in {seconds:.1f} s")
        os.environ["EVENTS_LAKE_URL"] = str(root)
        manifest = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
        manifest["statistics"]["epsilon_budget"] = 100
        (work / "charter.yaml").write_text(yaml.safe_dump(manifest), encoding="utf-8")
        settings = Settings(
            database_url=f"sqlite:///{work / 'charter.db'}",
            manifest=work / "charter.yaml",
            key_file=work / "charter.key",
            outbox_dir=work / "outbox",
        )
        initialise(settings)
        with Charter.open(settings) as charter:
            request = ReleaseRequest(
                dataset="events",
                by=["country", "device_type"],
                epsilon=1,
                recipient="bench",
            )
            files = charter.statistics.files(charter.statistics.plan(request))
            groups = plain(files)
            baseline = median_time(lambda: plain(files), args.runs)
            made = charter.statistics.release(request, "bench")
            ours = median_time(lambda: charter.statistics.release(request, "bench"), args.runs)
        ratio = ours / baseline
        print()
        print(
            f"{args.events:,} events, {args.people:,} people, {len(files)} files, "
            f"{os.cpu_count()} cores; median of {args.runs}"
        )
        print(f"{'query':<58} {'seconds':>8} {'cells':>6}")
        print(
            f"{'plain: count(DISTINCT cookie_id) GROUP BY country, device':<58} "
            f"{baseline:>8.2f} {groups:>6}"
        )
        print(
            f"{'charter: DP release (bounded, noised, suppressed, recorded)':<58} "
            f"{ours:>8.2f} {len(made.cells):>6}"
        )
        print(f"{'ratio (target <= 3x)':<58} {ratio:>8.2f}")
        print(f"released cells: {len(made.cells) - made.suppressed}, suppressed: {made.suppressed}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
