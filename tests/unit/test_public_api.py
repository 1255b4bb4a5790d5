from __future__ import annotations

import charter
from charter.domain.permissions import PERMISSIONS, Permission, Role, allowed


def test_public_names_are_exported_and_resolve() -> None:
    assert charter.__all__ == sorted(charter.__all__)
    for name in charter.__all__:
        assert getattr(charter, name) is not None
    assert "Charter" in charter.__all__


def test_every_permission_has_an_entry_and_admin_holds_all() -> None:
    assert set(PERMISSIONS) == set(Permission)
    assert all(allowed(Role.ADMIN, permission) for permission in Permission)
    assert not allowed(Role.AUDITOR, Permission.COLLECT)
    assert not allowed(Role.SUPPORT, Permission.COLLECT)
