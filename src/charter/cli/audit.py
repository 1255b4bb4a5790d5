"""``charter audit``: check the hash-chained audit log, and export anchors of its head.

``verify`` exits 0 with ``N rows, chain intact`` on stdout, or 1 with the first problem on
stderr (the row changed, missing, out of order, or the anchor a truncated log no longer
reaches); an anchors file that cannot be read is bad usage (2), naming the file and line.
``anchor`` prints the head as one JSON line, or appends it to an append-only JSON-lines file,
which ``verify --anchors`` reads back.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from charter.domain.audit import Anchor, Finding
from charter.domain.errors import CharterError, InvalidValue

if TYPE_CHECKING:
    from charter.services.audit import AuditService

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

PROGRESS_FROM = 20_000
"""Logs at least this long show a progress bar while they are checked (on a terminal)."""

_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


def read_anchors(path: Path) -> list[Anchor]:
    """The anchors of a JSON-lines file (blank lines skipped); ``InvalidValue`` names the line."""
    anchors = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                anchors.append(Anchor.from_json(line))
            except InvalidValue as error:
                raise InvalidValue(f"{path}:{number}: {error.message}") from None
    return anchors


@audit_app.command("verify")
def verify(
    anchors: Annotated[
        Path | None,
        typer.Option(
            "--anchors",
            exists=True,
            dir_okay=False,
            help="A JSON-lines file of anchors (from `charter audit anchor --output`); "
            "without it, a log cut at its end with its head set back goes unnoticed.",
        ),
    ] = None,
) -> None:
    """Check every row of the audit log, and that it still reaches every anchor."""
    from charter.cli import fail, load_settings
    from charter.facade import Charter

    try:
        given = read_anchors(anchors) if anchors is not None else []
    except InvalidValue as error:
        _err.print(f"error: {error.message}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    except (OSError, UnicodeDecodeError) as error:
        _err.print(f"error: {anchors}: {error}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    settings = load_settings()
    try:
        with Charter.open(settings) as charter:
            finding, rows = _check(charter.audit, given)
    except CharterError as error:
        raise fail(error.message) from None
    if finding is not None:
        _err.print(f"error: {finding.message}", highlight=False, markup=False)
        raise typer.Exit(1)
    _out.print(f"{rows} row{'' if rows == 1 else 's'}, chain intact", highlight=False)


def _check(audit: AuditService, anchors: list[Anchor]) -> tuple[Finding | None, int]:
    """The first finding and how many rows were read, with a progress bar on long logs."""
    total = audit.size()
    checked = 0
    with Progress(
        TextColumn("checking the audit log"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
        disable=total < PROGRESS_FROM,
    ) as bar:
        task = bar.add_task("verify", total=total)

        def progress(count: int) -> None:
            nonlocal checked
            checked = count
            bar.update(task, completed=count)

        finding = audit.verify(anchors, progress=progress)
    return finding, checked


@audit_app.command("anchor")
def anchor(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="Append the anchor to this JSON-lines file instead of printing it.",
        ),
    ] = None,
) -> None:
    """The log's head now (seq, hash, time) as one JSON line: keep it off this machine."""
    from charter.cli import fail, load_settings
    from charter.facade import Charter

    settings = load_settings()
    try:
        with Charter.open(settings) as charter:
            taken = charter.audit.anchor()
    except CharterError as error:
        raise fail(error.message) from None
    line = taken.to_json() + "\n"
    if output is None:
        sys.stdout.write(line)
        return
    # Appended and flushed to disk: an anchor file is evidence, never rewritten.
    with output.open("a", encoding="utf-8") as file:
        file.write(line)
        file.flush()
        os.fsync(file.fileno())
    _err.print(f"appended the anchor at row {taken.seq} to {output}", highlight=False, markup=False)
