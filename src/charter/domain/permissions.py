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
    OBJECT = "object"
    RESTRICT = "restrict"
    MANAGE_SUBSCRIPTIONS = "manage_subscriptions"
    CHECK_MESSAGE = "check_message"
    READ_RECEIPTS = "read_receipts"
    READ_REQUESTS = "read_requests"
    FILE_REQUEST = "file_request"
    DECIDE_REQUEST = "decide_request"
    CANCEL_CHILD_REGISTRATION = "cancel_child_registration"
    READ_REGISTERS = "read_registers"
    RECORD_DISCLOSURE = "record_disclosure"
    MANAGE_DISCLOSURES = "manage_disclosures"
    MANAGE_BREACHES = "manage_breaches"
    PUBLISH_POLICY = "publish_policy"
    RELEASE_STATISTICS = "release_statistics"
    VERIFY_PASSWORD = "verify_password"  # noqa: S105 (a permission's name, not a secret)
    RUN_CONTESTS = "run_contests"


PERMISSIONS: dict[Permission, frozenset[Role]] = {
    Permission.COLLECT: frozenset({Role.ADMIN, Role.SERVICE}),
    Permission.READ_MANIFEST: frozenset(Role),
    Permission.MANAGE_TOKENS: frozenset({Role.ADMIN}),
    Permission.RECORD_CONSENT: frozenset({Role.ADMIN, Role.SERVICE, Role.PRIVACY_OFFICER}),
    Permission.DECIDE: frozenset({Role.ADMIN, Role.SERVICE, Role.PRIVACY_OFFICER, Role.SUPPORT}),
    # A brand's app may offer "stop personalised ads"; restriction (Art. 18) follows a rights
    # request, which only the privacy team decides.
    Permission.OBJECT: frozenset({Role.ADMIN, Role.SERVICE, Role.PRIVACY_OFFICER}),
    Permission.RESTRICT: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    Permission.MANAGE_SUBSCRIPTIONS: frozenset({Role.ADMIN, Role.SERVICE, Role.PRIVACY_OFFICER}),
    Permission.CHECK_MESSAGE: frozenset({Role.ADMIN, Role.SERVICE, Role.PRIVACY_OFFICER}),
    Permission.READ_RECEIPTS: frozenset(Role),
    # Support sees the queue and records requests that came by mail or phone; approving,
    # extending and refusing them is the privacy team's decision.
    Permission.READ_REQUESTS: frozenset(
        {Role.ADMIN, Role.PRIVACY_OFFICER, Role.SUPPORT, Role.AUDITOR}
    ),
    Permission.FILE_REQUEST: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.SUPPORT}),
    Permission.DECIDE_REQUEST: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    # Erases a person at once, with no verification or approval step: the privacy team's act.
    Permission.CANCEL_CHILD_REGISTRATION: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    # The registers (records of processing, disclosures, transfers, breaches, policy versions):
    # the privacy team keeps them, an auditor reads them.
    Permission.READ_REGISTERS: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.AUDITOR}),
    # A brand's system records what it passed to a processor or posted publicly; authority and
    # court requests, and their decisions, are the privacy team's.
    Permission.RECORD_DISCLOSURE: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER, Role.SERVICE}),
    Permission.MANAGE_DISCLOSURES: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    Permission.MANAGE_BREACHES: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    Permission.PUBLISH_POLICY: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    # An aggregate release spends the dataset's privacy budget and discloses to a recipient.
    Permission.RELEASE_STATISTICS: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
    # A brand's sign-in checks a customer's password; no member of staff needs to.
    Permission.VERIFY_PASSWORD: frozenset({Role.ADMIN, Role.SERVICE}),
    # Publishing winners' names and passing entries to a sponsor disclose personal data, and a
    # transfer answers with the entries themselves: the privacy team's act, not a brand's app.
    Permission.RUN_CONTESTS: frozenset({Role.ADMIN, Role.PRIVACY_OFFICER}),
}


def allowed(role: Role, permission: Permission) -> bool:
    return role in PERMISSIONS[permission]
