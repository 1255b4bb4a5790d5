"""Cookie banner choices recorded per second, beside plain INSERTs doing the same writes.

What is measured:

1. **Charter.** ``--threads`` threads (default 8) share one ``Charter`` on the example manifest
   and call ``charter.cookie_banner.record`` in a loop: each call is a first visit (a new random
   cookie id, so a new person with a hashed identity) choosing "Accept all" on akkord_pro in
   English, with the banner's current config and text versions. One call records one consent
   event per category asking for consent (four) and the person's state, in one durable
   transaction (SQLite: WAL, ``synchronous=FULL``), and only then returns.
2. **Baseline.** The same threads, each with a plain ``sqlite3`` connection with the same
   pragmas: ``BEGIN IMMEDIATE``, four ``INSERT``s of event rows shaped like
   ``consent_events``, ``COMMIT``, per choice. It writes less than Charter (no person, identity
   or state row): the figure to compare against.
3. Events counted afterwards must equal four per acknowledged choice.

Usage: python bench/cookie_choices.py [--threads N] [--seconds S]
Exits 1 if a choice fails or a write is lost.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from consent_writes import MANIFEST, Run, hammer, sqlite_baseline
from sqlalchemy import func, select

from charter.bootstrap import initialise
from charter.config import Settings
from charter.facade import Charter
from charter.services.cookie_banner import CookieChoice
from charter.storage.tables import consent_events

BRAND = "akkord_pro"


def charter_run(settings: Settings, args: argparse.Namespace) -> tuple[Run, int, int]:
    initialise(settings)
    with Charter.open(settings) as charter:
        config = charter.cookie_banner.config(BRAND, "en", gpc=False)
        asked = sum(1 for c in config["categories"] if not c["required"])

        def work(_n: int) -> Callable[[], None]:
            def step() -> None:
                charter.cookie_banner.record(
                    CookieChoice(
                        brand=BRAND,
                        method="accept_all",
                        language="en",
                        config_version=config["config_version"],
                        text_version=config["text_version"],
                        cookie_id=secrets.token_urlsafe(16),
                    )
                )

            return step

        run = hammer(args.threads, args.seconds, 10**9, work)
        with charter.store.read() as connection:
            stored = int(connection.scalar(select(func.count()).select_from(consent_events)))
    return run, asked, stored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="charter-cookies-") as tmp:
        folder = Path(tmp)
        settings = Settings(
            database_url=f"sqlite:///{folder / 'charter.db'}",
            manifest=MANIFEST,
            key_file=folder / "charter.key",
            outbox_dir=folder / "outbox",
        )
        run, asked, stored = charter_run(settings, args)
        baseline = sqlite_baseline(folder / "plain.db", args, asked, limit=10**9)
    rows = [
        (f"Charter: banner choices/s (first visits, {asked} events each)", run),
        (f"Baseline: BEGIN + {asked} INSERT + COMMIT/s", baseline),
    ]
    print(f"| SQLite, {args.threads} threads, {args.seconds:.0f} s | choices/s | choices |")
    print("| --- | ---: | ---: |")
    for label, measured in rows:
        print(f"| {label} | {measured.rate:,.0f} | {measured.writes:,} |")
    ratio = run.rate / baseline.rate if baseline.rate else 0.0
    print(f"\nCharter at {ratio:.0%} of the plain INSERT baseline.")
    failed = bool(run.errors or baseline.errors)
    for label, measured in rows:
        if measured.errors:
            print(f"{label}: {len(measured.errors)} errors, first: {measured.errors[0]}")
    if stored != asked * run.writes:
        print(f"LOST: {run.writes} choices acknowledged, {stored} events stored")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
