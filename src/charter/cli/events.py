"""``charter events summary``: what the event lake holds and what was dropped, for operators.

Events stored per day, brand and cookie category (and distinct cookie ids), read from the
Parquet files with DuckDB, beside the events dropped per day, brand and reason
(``charter.services.events``). ``--day`` limits both to one UTC day; ``--json`` prints JSON.
A bad day is bad usage (exit 2); a lake that is not configured exits 1, naming the variable.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

events_app = typer.Typer(help="The event lake (page views).", no_args_is_help=True)
out = Console(soft_wrap=True)


def _day(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (2026-11-28)") from None


@events_app.command("summary")
def events_summary(
    day: Annotated[str | None, typer.Option("--day", help="One UTC day (YYYY-MM-DD).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Events stored per day, brand and category, and events dropped per reason."""
    from charter.cli import fail, load_settings
    from charter.domain.errors import CharterError
    from charter.facade import Charter

    on = _day(day)
    try:
        with Charter.open(load_settings()) as charter:
            summary = charter.events.summary(on)
    except CharterError as exc:
        raise fail(exc.message) from None
    if as_json:
        print(
            json.dumps(
                {
                    "stored": [
                        {
                            "day": r.day.isoformat(),
                            "brand": r.brand,
                            "category": r.category,
                            "events": r.events,
                            "cookie_ids": r.cookie_ids,
                        }
                        for r in summary.stored
                    ],
                    "dropped": [
                        {
                            "day": r.day.isoformat(),
                            "brand": r.brand,
                            "reason": r.reason,
                            "count": r.count,
                        }
                        for r in summary.dropped
                    ],
                },
                indent=2,
            )
        )
        return
    stored = Table("day", "brand", "category", "events", "cookie ids", title="Stored")
    for r in summary.stored:
        stored.add_row(r.day.isoformat(), r.brand, r.category, str(r.events), str(r.cookie_ids))
    dropped = Table("day", "brand", "reason", "events", title="Dropped")
    for d in summary.dropped:
        dropped.add_row(d.day.isoformat(), d.brand, d.reason, str(d.count))
    out.print(stored)
    out.print(dropped)
