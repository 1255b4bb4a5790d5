"""The permission table and its copies in the docs (docs/api.md, docs/operations.md) agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from charter.domain.permissions import PERMISSIONS, Permission, Role, allowed

DOCS = Path(__file__).resolve().parents[2] / "docs"


def documented(page: str) -> dict[Permission, frozenset[Role]]:
    lines = (DOCS / page).read_text().splitlines()
    header = next(line for line in lines if line.startswith("| permission |"))
    roles = [Role(name) for name in re.findall(r"`(\w+)`", header)]
    table = {}
    for line in lines:
        found = re.match(r"\| `(\w+)` \|", line)
        if found and found.group(1) in Permission.__members__.values():
            cells = [cell.strip() for cell in line.split("|")[2 : 2 + len(roles)]]
            table[Permission(found.group(1))] = frozenset(
                role for role, cell in zip(roles, cells, strict=True) if cell == "yes"
            )
    return table


@pytest.mark.parametrize("page", ["api.md", "operations.md"])
def test_the_docs_show_the_permission_table(page: str) -> None:
    assert documented(page) == PERMISSIONS


def test_every_permission_has_its_roles_and_admin_has_all() -> None:
    assert set(PERMISSIONS) == set(Permission)
    assert all(allowed(Role.ADMIN, permission) for permission in Permission)
