"""``charter staff``: accounts for the admin console.

The password is asked twice at a hidden prompt, or read from ``CHARTER_STAFF_PASSWORD`` for
scripts (never from an option: it would stay in the shell history and the process list). Bad
input (an unknown role, a short password, an e-mail already in use or unknown) is bad usage:
exit 2 with one line on stderr.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console

from charter.domain.errors import CharterError, InvalidInput, NotFound

staff_app = typer.Typer(help="Staff accounts for the admin console.", no_args_is_help=True)

PASSWORD_ENV = "CHARTER_STAFF_PASSWORD"  # noqa: S105 (the variable's name, not a password)
_out = Console(soft_wrap=True)
_err = Console(stderr=True, soft_wrap=True)


def _exit(error: CharterError) -> typer.Exit:
    _err.print(f"error: {error.message}", highlight=False, markup=False)
    return typer.Exit(2 if isinstance(error, InvalidInput | NotFound) else 1)


@staff_app.command("create")
def create(
    email: Annotated[str, typer.Option(help="The login; stored lower-cased.")],
    name: Annotated[str, typer.Option(help="The person's name, shown in the console.")],
    role: Annotated[str, typer.Option(help="admin, privacy_officer, support or auditor.")],
) -> None:
    """Create a staff account (password: hidden prompt, or CHARTER_STAFF_PASSWORD)."""
    from charter.cli import load_settings
    from charter.domain.permissions import Role
    from charter.facade import Charter

    if role not in {r.value for r in Role}:
        _err.print(
            f"error: no role '{role}' (roles: {', '.join(r.value for r in Role)})",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(2)
    settings = load_settings()
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with Charter.open(settings) as charter:
            user = charter.staff.create_user(email, name, role, password)
    except CharterError as exc:
        raise _exit(exc) from None
    _out.print(f"created staff account {user.id} ({user.role.value})", highlight=False)


@staff_app.command("disable")
def disable(
    email: Annotated[str, typer.Option(help="The account's e-mail.")],
) -> None:
    """Disable a staff account and end its sessions (the account is kept for the history)."""
    from charter.cli import load_settings
    from charter.facade import Charter

    settings = load_settings()
    try:
        with Charter.open(settings) as charter:
            charter.staff.disable(email)
    except CharterError as exc:
        raise _exit(exc) from None
    _out.print("disabled the staff account and ended its sessions", highlight=False)
