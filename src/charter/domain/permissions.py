"""Who may do what: the one table of staff and service permissions.

Roles: ``admin`` (everything), ``privacy_officer`` (the privacy team: requests, registers),
``support`` (look up a person's requests and preferences, nothing more), ``service`` (the brands'
shops and apps: collect, check consent), ``auditor`` (read the evidence, change nothing).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    PRIVACY_OFFICER = "privacy_officer"
    SUPPORT = "support"
    SERVICE = "service"
    AUDITOR = "auditor"


class Permission(StrEnum):
    COLLECT = "collect"
    READ_MANIFEST = "read_manifest"
    MANAGE_TOKENS = "manage_tokens"
    RECORD_CONSENT = "record_consent"
    DECIDE = "decide"


PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.COLLECT: frozenset({Role.ADMIN, Role.SERVICE}),
    Permission.READ_MANIFEST: frozenset(Role),
    Permission.MANAGE_TOKENS: frozenset({Role.ADMIN}),
    Permission.RECORD_CONSENT: frozenset({Role.ADMIN, Role.SERVICE, Role.PRIVACY_OFFICER}),
    Permission.DECIDE: frozenset({Role.ADMIN, Role.SERVICE, Role.PRIVACY_OFFICER, Role.SUPPORT}),
}


def allowed(role: Role, permission: Permission) -> bool:
    return role in PERMISSIONS[permission]
