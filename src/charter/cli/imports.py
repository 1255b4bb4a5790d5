"""``charter import``: bring in a data map made for another tool.

Bad input (a missing or malformed file, an identity with no Charter kind, a reference Charter
cannot follow) is bad usage: exit 2 with one line on stderr naming the file and field at fault.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

from charter.domain.errors import CharterError, ManifestError

import_app = typer.Typer(help="Import data maps made for other tools.", no_args_is_help=True)

_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


def _bad_input(message: str) -> typer.Exit:
    _err.print(f"error: {message}", highlight=False, markup=False)
    return typer.Exit(2)


def _warn(message: str) -> None:
    _err.print(f"warning: {message}", highlight=False, markup=False)


@import_app.command("fides-dataset")
def fides_dataset(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A Fides dataset YAML file.", show_default=False)
    ],
    connection_env: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Variable holding the database URL (default: the fides_key, upper-cased, "
            "+ _DATABASE_URL).",
        ),
    ] = None,
    identity: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=KIND",
            help="Map a custom Fides identity to a Charter kind, e.g. user_id=account_id.",
        ),
    ] = None,
    delete_rows: Annotated[
        list[str] | None,
        typer.Option(
            metavar="TABLE[,TABLE]", help="Erase these tables' rows whole (erasure: delete_row)."
        ),
    ] = None,
    pick_first: Annotated[
        bool, typer.Option("--pick-first", help="A field with several categories takes the first.")
    ] = False,
    merge: Annotated[
        Path | None,
        typer.Option(metavar="MANIFEST", help="Write into this manifest's systems, not stdout."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="With --merge: overwrite a system of the same key.")
    ] = False,
) -> None:
    """Turn a Fides dataset into the manifest's systems (printed, or merged with --merge)."""
    from charter.manifest.fides_import import (
        FidesImportError,
        import_fides_datasets,
        merge_into_manifest,
        parse_identity_map,
        read_fides_file,
        undeclared_categories,
    )
    from charter.manifest.taxonomy import extends_vocabulary, fideslang_categories

    tables = [name.strip() for value in delete_rows or [] for name in value.split(",")]
    try:
        result = import_fides_datasets(
            read_fides_file(file),
            source=str(file),
            identities=parse_identity_map(identity or []),
            connection_env=connection_env,
            delete_rows=[name for name in tables if name],
            pick_first=pick_first,
        )
    except FidesImportError as exc:
        raise _bad_input(exc.message) from None
    for note in result.notes:
        _err.print(f"note: {note}", highlight=False, markup=False)
    categories = result.categories()
    if merge is None:
        vocabulary = fideslang_categories()
        custom = [c for c in categories if not extends_vocabulary(c, vocabulary)]
        if custom:
            _warn(f"{file}: not fideslang categories: {', '.join(custom)}")
        text = yaml.safe_dump(
            {"systems": result.systems},
            sort_keys=False,
            default_flow_style=None,
            allow_unicode=True,
            width=100,
        )
        sys.stdout.write(text)
        return
    try:
        manifest = merge_into_manifest(merge, result.systems, replace=replace)
    except ManifestError as exc:
        for problem in exc.problems:
            _err.print(problem, highlight=False, markup=False)
        raise _bad_input(f"{merge} does not load; nothing merged") from None
    except CharterError as exc:
        raise _bad_input(exc.message) from None
    missing = undeclared_categories(categories, manifest.data_categories)
    if missing:
        _warn(f"{merge}: declare these categories in data_categories: {', '.join(missing)}")
    for key in result.systems:
        _out.print(f"{merge}: systems.{key} written", highlight=False, markup=False)
