"""The ``charter`` command: thin calls into the Python API.

Exit codes: 0 success, 1 a finding or a failure (messages on stderr name the file, key or field
at fault), 2 bad usage.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from charter.cli.audit import audit_app
from charter.cli.events import events_app
from charter.cli.forensics import forensics_app
from charter.cli.imports import import_app
from charter.cli.policy_versions import policy_diff, policy_publish
from charter.cli.render import policy_render
from charter.cli.ropa import ropa_app
from charter.cli.staff import staff_app
from charter.cli.stats import stats_app
from charter.cli.sweep import sweep
from charter.config import Settings
from charter.domain.errors import CharterError

app = typer.Typer(
    name="charter",
    help="Charter makes a privacy policy executable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
policy_app = typer.Typer(help="Check and render the manifest's policy.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for staff and services.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(staff_app, name="staff")
app.add_typer(audit_app, name="audit")
app.add_typer(forensics_app, name="forensics")
app.add_typer(ropa_app, name="ropa")
app.add_typer(events_app, name="events")
app.add_typer(stats_app, name="stats")
app.command()(sweep)
policy_app.command("render")(policy_render)
policy_app.command("publish")(policy_publish)
policy_app.command("diff")(policy_diff)

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def load_settings() -> Settings:
    """Settings from the environment; a bad ``CHARTER_*`` value is bad usage (exit 2)."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = "CHARTER_" + "_".join(str(part) for part in error["loc"]).upper()
            err.print(f"error: {name}: {error['msg']}", highlight=False, markup=False)
        raise typer.Exit(2) from None


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(1)


@app.command()
def init() -> None:
    """Create charter.yaml (from the example group), the key file and the database."""
    from charter.bootstrap import initialise

    settings = load_settings()
    try:
        report = initialise(settings)
    except CharterError as exc:
        raise fail(exc.message) from None
    if report.manifest_written:
        out.print(f"wrote {settings.manifest} (the example music group; edit it to yours)")
    else:
        out.print(f"kept {settings.manifest}")
    if report.key_written:
        out.print(f"wrote {settings.key_file} (master key: back it up, keep it secret)")
    else:
        out.print(f"kept {settings.key_file}")
    out.print(f"database at schema revision {report.revision}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Server processes (each opens its own Charter).", min=1)
    ] = 1,
) -> None:
    """Serve the HTTP API, the policy page and the health probe."""
    import uvicorn

    from charter.api import create_app
    from charter.cli.logs import log_config
    from charter.manifest import check_manifest

    settings = load_settings()
    # An unsound manifest is never served: it would enforce (and publish) broken promises.
    problems = check_manifest(settings.manifest)
    if problems:
        for problem in problems:
            err.print(problem, highlight=False, markup=False)
        raise fail(f"{len(problems)} problem(s) in {settings.manifest}; not serving it")
    if settings.log_file is not None:
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
    logs = log_config(settings.log_file)
    try:
        application = create_app(settings)
    except CharterError as exc:
        raise fail(exc.message) from None
    if workers == 1:
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_level="info",
            access_log=False,
            log_config=logs,
        )
        return
    # Several processes need the app by import path; each worker builds its own from the same
    # CHARTER_* environment (the app above proved that it builds, then is dropped unused).
    application.state.charter.close()
    uvicorn.run(
        "charter.api:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        log_config=logs,
    )


@policy_app.command("check")
def policy_check(
    file: Annotated[
        Path | None, typer.Argument(help="Manifest file (default: CHARTER_MANIFEST).")
    ] = None,
) -> None:
    """Load and lint a manifest; list every problem and exit 1 if there is any."""
    from charter.manifest import check_manifest

    path = file or load_settings().manifest
    problems = check_manifest(path)
    for problem in problems:
        err.print(problem, highlight=False, soft_wrap=True, markup=False)
    if problems:
        err.print(f"{len(problems)} problem(s) in {path}", highlight=False)
        raise typer.Exit(1)
    out.print(f"{path}: sound", highlight=False)


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="admin, privacy_officer, support, service or auditor.")],
    name: Annotated[str, typer.Option(help="Who or what holds it.")] = "",
) -> None:
    """Print a new bearer token (shown once; only its hash is stored)."""
    from charter.domain.permissions import Role
    from charter.facade import Charter

    if role not in {r.value for r in Role}:
        err.print(f"error: no role '{role}' (roles: {', '.join(r.value for r in Role)})")
        raise typer.Exit(2)
    try:
        with Charter.open(load_settings()) as charter:
            issued = charter.create_token(role, name)
    except CharterError as exc:
        raise fail(exc.message) from None
    err.print(
        f"token {issued.id} for role {issued.role.value}; store it now, it is not shown again"
    )
    sys.stdout.write(issued.token + "\n")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[str, typer.Argument(help="The token's id.")]) -> None:
    """Revoke a token by its id."""
    from charter.facade import Charter

    try:
        with Charter.open(load_settings()) as charter:
            charter.revoke_token(token_id)
    except CharterError as exc:
        raise fail(exc.message) from None
    out.print(f"revoked {token_id}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from charter.storage import migrate
    from charter.storage.engine import make_engine

    engine = make_engine(load_settings().database_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    out.print(f"database at schema revision {migrate.head_revision()}")


def main() -> None:
    app()
