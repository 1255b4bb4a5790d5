"""``charter ropa export``: the records of processing activities (GDPR Art. 30) from the manifest.

One record per purpose (``charter.manifest.ropa``): ``--format csv`` (default; one row per
purpose, list fields joined by "; "), ``json`` (a list of objects) or ``html`` (one accessible,
self-contained page); ``--output FILE`` writes a file instead of stdout. A bad format is bad
usage (exit 2, naming ``--format``); a manifest that does not load exits 1.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

ropa_app = typer.Typer(
    help="Records of processing activities (GDPR Art. 30).", no_args_is_help=True
)


class RopaFormat(StrEnum):
    CSV = "csv"
    HTML = "html"
    JSON = "json"


@ropa_app.command("export")
def ropa_export(
    format: Annotated[
        RopaFormat,
        typer.Option("--format", "-f", help="csv, html or json.", case_sensitive=False),
    ] = RopaFormat.CSV,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to FILE.")] = None,
) -> None:
    """Export one record per processing activity: controller, purpose, basis, data subjects,
    data, recipients, transfers, retention and security measures."""
    from charter.cli import fail, load_settings
    from charter.cli.render import emit
    from charter.domain.errors import CharterError
    from charter.manifest import load_manifest
    from charter.manifest.ropa import (
        processing_records,
        records_csv,
        records_html,
        records_json,
    )

    try:
        manifest = load_manifest(load_settings().manifest)
    except CharterError as exc:
        raise fail(exc.message) from None
    records = processing_records(manifest)
    if format is RopaFormat.JSON:
        text = records_json(records)
    elif format is RopaFormat.HTML:
        text = records_html(manifest, records)
    else:
        text = records_csv(records)
    emit(text, output)
