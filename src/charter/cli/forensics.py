"""``charter forensics scan``: the operator's proof of erasure.

After a person is erased, none of their identifiers may remain readable in the bytes Charter
keeps: the database (on SQLite its file, WAL and journal; on PostgreSQL its tables), the outbox
folder, the log file. ``scan`` searches them for each ``--identity`` in every form it may take
(see ``charter.services.forensics``) and exits 0 when nothing is found, 1 with each finding on
stderr (the file and byte offset, or the table, column and row, and the form that matched), and
2 on bad usage (no identity, or one too short to search for). ``--json`` prints the whole report
on stdout instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from charter.domain.errors import CharterError, InvalidValue

forensics_app = typer.Typer(
    help="Proof of erasure: search the bytes Charter keeps for a person's identifiers.",
    no_args_is_help=True,
)

_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


@forensics_app.command("scan")
def scan(
    identity: Annotated[
        list[str],
        typer.Option(
            "--identity",
            help="An e-mail, phone number, account id, cookie id or device serial of the "
            "person (repeat for each).",
        ),
    ],
    path: Annotated[
        list[Path] | None,
        typer.Option(
            "--path",
            help="Also search this file or folder (an export, a backup, an external system's "
            "SQLite file); repeatable.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Search the database, its WAL and journal, the outbox and the log for the identities;
    exit 1 if any is found."""
    from charter.bootstrap import open_scanner
    from charter.cli import fail, load_settings
    from charter.services.forensics import checked_identities

    try:
        identities = checked_identities(identity)
    except InvalidValue as error:
        _err.print(f"error: {error.message}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    settings = load_settings()
    try:
        with (
            open_scanner(settings, path or []) as scanner,
            Progress(
                TextColumn("scanning"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeElapsedColumn(),
                console=_err,
                transient=True,
            ) as bar,
        ):
            task = bar.add_task("scan", total=None)
            report = scanner.scan(
                identities, lambda done, total: bar.update(task, completed=done, total=total)
            )
    except CharterError as error:
        raise fail(error.message) from None
    if as_json:
        sys.stdout.write(json.dumps(report.as_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        for finding in report.findings:
            _err.print(f"found {finding}", highlight=False, markup=False)
        for note in report.notes:
            _err.print(f"note: {note}", highlight=False, markup=False)
        for kept in report.kept:
            _out.print(
                f"kept by design: request {kept.request_id} holds the keyed hash of "
                f"{kept.identity}",
                highlight=False,
                markup=False,
            )
        where = f"{len(report.files)} file(s), {report.bytes_scanned:,} bytes"
        if report.tables:
            where += f", {len(report.tables)} column(s) of the database"
        verdict = "nothing found" if report.clean else f"{len(report.findings)} finding(s)"
        _out.print(f"scanned {where}: {verdict}", highlight=False, markup=False)
    if not report.clean:
        raise typer.Exit(1)
