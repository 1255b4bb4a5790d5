"""``charter stats release`` and ``charter stats budget``: anonymous aggregate statistics.

A thin shell over ``charter.statistics`` (``charter.services.statistics``): ``release`` prints
the released cells as JSON (default: the whole release, with its margins and parameters) or CSV
(one row per public cell, suppressed cells empty), to stdout or ``--output FILE``; ``budget``
prints the privacy budget per dataset. Bad input (an undeclared dimension, a malformed
``--where``) is bad usage, exit 2 naming the option; a refusal (the budget exhausted, an
undeclared recipient) exits 1; nothing is recorded either way.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

stats_app = typer.Typer(
    help="Anonymous aggregate statistics (differential privacy).", no_args_is_help=True
)


class StatsFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


def _where(values: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or not key.strip() or not wanted.strip():
            raise typer.BadParameter(f"'{value}': write DIMENSION=VALUE", param_hint="--where")
        found.setdefault(key.strip(), []).extend(v.strip() for v in wanted.split("|"))
    return found


def _csv(cells: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if cells:
        writer = csv.DictWriter(buffer, fieldnames=list(cells[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(cells)
    return buffer.getvalue()


@stats_app.command("release")
def stats_release(
    dataset: Annotated[str, typer.Option(help="A Parquet system of the manifest.")],
    recipient: Annotated[
        str, typer.Option(help="A manifest recipient's key, or a third party's name.")
    ],
    measure: Annotated[str, typer.Option(help="count, sum or histogram.")] = "count",
    by: Annotated[str, typer.Option(help="Dimensions, comma-separated.")] = "",
    where: Annotated[
        list[str] | None,
        typer.Option(help="DIMENSION=VALUE (VALUE|VALUE for several); repeatable."),
    ] = None,
    epsilon: Annotated[
        float | None, typer.Option(help="Epsilon spent (the manifest's default if omitted).")
    ] = None,
    column: Annotated[str | None, typer.Option(help="A sum's or histogram's column.")] = None,
    lower: Annotated[float | None, typer.Option(help="A sum clamps values to [lower, upper].")] = (
        None
    ),
    upper: Annotated[float | None, typer.Option(help="See --lower.")] = None,
    bins: Annotated[str, typer.Option(help="A histogram's edges, comma-separated.")] = "",
    purpose: Annotated[str | None, typer.Option(help="Why, for the log.")] = None,
    format: Annotated[
        StatsFormat, typer.Option("--format", "-f", help="json or csv.", case_sensitive=False)
    ] = StatsFormat.JSON,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE.")] = None,
) -> None:
    """Release counts, sums or a histogram by the manifest's dimensions, each person's
    contribution bounded, with differential-privacy noise and small cells suppressed."""
    from charter.cli import err, fail, load_settings
    from charter.cli.render import emit
    from charter.domain.errors import CharterError, InvalidValue
    from charter.facade import Charter
    from charter.services.statistics import ReleaseRequest

    try:
        edges = [float(b) for b in bins.split(",") if b.strip()]
    except ValueError:
        raise typer.BadParameter("numbers separated by commas", param_hint="--bins") from None
    request = ReleaseRequest(
        dataset=dataset,
        measure=measure,
        by=[b.strip() for b in by.split(",") if b.strip()],
        where=_where(where or []),
        epsilon=epsilon,
        recipient=recipient,
        purpose=purpose,
        column=column,
        lower=lower,
        upper=upper,
        bins=edges,
    )
    try:
        with Charter.open(load_settings()) as charter:
            made = charter.statistics.release(request, "cli")
    except InvalidValue as exc:
        err.print(f"error: {exc.message}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    except CharterError as exc:
        raise fail(exc.message) from None
    if format is StatsFormat.CSV:
        text = _csv(made.cells)
    else:
        text = json.dumps(asdict(made), default=str, indent=2) + "\n"
    emit(text, output)
    err.print(
        f"release {made.id}: {len(made.cells)} cells, {made.suppressed} suppressed; "
        f"epsilon {made.epsilon:g} spent, {made.spent:g} of {made.budget:g} used",
        highlight=False,
    )


@stats_app.command("budget")
def stats_budget() -> None:
    """The privacy budget per dataset: total, spent, remaining, releases."""
    from charter.cli import fail, load_settings
    from charter.domain.errors import CharterError
    from charter.facade import Charter

    try:
        with Charter.open(load_settings()) as charter:
            budgets = charter.statistics.budget()
    except CharterError as exc:
        raise fail(exc.message) from None
    rows = [
        {
            "dataset": b.dataset,
            "budget": b.budget,
            "spent": round(b.spent, 9),
            "remaining": round(b.remaining, 9),
            "releases": b.releases,
        }
        for b in budgets
    ]
    typer.echo(json.dumps(rows, indent=2))
