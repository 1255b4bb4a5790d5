"""``charter sweep``: apply the manifest's retention rules now, or as of another date."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from charter.domain.errors import CharterError

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _as_of(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (2027-06-30) or a time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def sweep(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go; change nothing.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="Sweep as if it were this date or time (ISO 8601, UTC unless it says), for "
            "tests and dry runs into the future.",
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(help="Ids per transaction (a window of the table).", min=1)
    ] = 100_000,
) -> None:
    """Delete or anonymise what the retention rules say has expired; legal holds are kept.
    Art. 14 notices still owed for data received from partners are sent too (not in a dry run)."""
    from charter.cli import fail, load_settings
    from charter.facade import Charter

    when = _as_of(as_of)
    settings = load_settings()
    try:
        with (
            Charter.open(settings) as charter,
            Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err,
                transient=True,
                disable=dry_run,
            ) as bar,
        ):
            tasks: dict[str, TaskID] = {}

            def advance(rule: str, count: int) -> None:
                if rule not in tasks:
                    tasks[rule] = bar.add_task(rule, total=None)
                bar.advance(tasks[rule], count)

            report = charter.retention.sweep(
                when, dry_run=dry_run, batch_size=batch_size, progress=advance
            )
            # Art. 14 notices still owed go now (mail is never sent "as of" another date).
            told = None if dry_run else charter.sources.send_due()
    except CharterError as exc:
        raise fail(exc.message) from None
    verb = "would remove" if dry_run else "removed"
    table = Table(
        title=f"Retention sweep as of {report.as_of.isoformat()}"
        + (" (dry run)" if dry_run else "")
    )
    for column in ("rule", "action", "expired", "held", verb, "identities"):
        table.add_column(column, justify="left" if column in ("rule", "action") else "right")
    for r in report.rules:
        gone = r.expired - r.held if dry_run else r.removed
        table.add_row(
            r.rule, r.action, f"{r.expired:,}", f"{r.held:,}", f"{gone:,}", f"{r.identities:,}"
        )
    out.print(table)
    expired = "would expire" if dry_run else "expired"
    out.print(
        f"cookie banner consents older than their term: {report.consents_expired:,} {expired}"
    )
    deleted = "would be deleted" if dry_run else "deleted"
    out.print(f"records of requests closed long enough ago: {report.requests_deleted:,} {deleted}")
    if told is not None:
        out.print(
            f"Art. 14 notices of data received from partners: {told.mails:,} mail(s) for "
            f"{told.receipts:,} receipt(s), {told.undeliverable:,} undeliverable, "
            f"{told.overdue:,} past their due date"
        )
    lapsed = "would lapse" if dry_run else "lapsed"
    out.print(
        f"soft opt-in relationships past their term: {report.relationships_lapsed:,} {lapsed}"
    )
