"""The plan of a rights request: which steps, in which systems, in which order.

What each type does (GDPR articles):

- access (15), portability (20): Charter's own data (values, identities, consents,
  preferences), then every row of every table of every SQL system and Parquet lake (the rows
  holding the person's cookie ids or account ids), then the package.
- erasure (17): each SQL system (its connector erases in one transaction, keeping rows under a
  legal hold minimised) and each Parquet lake (only the files holding the person rewritten,
  each atomically: ``charter.connectors.parquet``), then Charter's own data: values under a
  legal hold are kept (and the person restricted), everything else deleted; with nothing held,
  the subject and its data key are deleted (crypto-shredding).
- rectification (16): the corrections in ``details.changes`` (``{"shop.customers": {"last_name":
  "Smith"}, "charter": {"name": "Ann Smith"}}``; ``charter.domain.rectification`` says what may
  be named, checked at intake by ``check_changes``), one ``rectify`` step per system named: a
  SQL system updates the rows in one transaction, a Parquet lake rewrites the files holding the
  person's rows (``charter.connectors.parquet``), a webhook system is sent its own part of the
  changes; old and new values are kept (sealed) where the system can say them.
- restriction (18), objection (21), withdraw_consent (7(3)): the flags and events decisions read.

Systems of kind ``webhook`` (a forum, a blog) are asked over their privacy webhook
(``charter.connectors.webhook``): to erase the person, their public posts deleted or
de-identified as the touchpoint's ``publication`` says, for their data, or to correct it. An
erasure of a person who published at a touchpoint with ``publication.republishers`` also tells
each of them, and each republication staff recorded, as steps of system ``publication``
(``charter.services.publication``, Art. 17(2)).

Systems Charter has no connector for (``manual``) and those whose connection variable is unset
here get a step that waits for staff to confirm it was done by hand (``staff_note`` says why).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from charter.domain.publication import republishers_to_tell
from charter.domain.rectification import check_changes as check_targets
from charter.domain.rectification import systems_changed
from charter.domain.requests import RequestType
from charter.manifest.models import ConnectorKind, IdentityKind, Manifest
from charter.services.notices import NOTIFIED_TYPES, recipients_to_notify
from charter.services.own_data import CHARTER
from charter.services.publication import PUBLICATION, RECORDED

RECIPIENTS = "recipients"
"""The system name of the steps that tell recipients (Art. 17(2), 19)."""


class StepStatus:
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    AWAITING_STAFF = "awaiting_staff"


@dataclass(frozen=True, slots=True)
class PlannedStep:
    system: str
    target: str | None
    action: str


def correctable(manifest: Manifest) -> dict[str, list[str]]:
    """``<system>.<table>`` to the columns a rectification may correct there: every declared
    column, but a lake's cookie id column, which says the bucket folder its row is filed under
    (``charter.domain.lake``): a corrected cookie id would leave the row in another's bucket."""
    found: dict[str, list[str]] = {}
    for key, system in manifest.systems.items():
        for name, table in system.tables.items():
            bucketed = {
                column
                for column, kind in table.identities.items()
                if system.connector is ConnectorKind.PARQUET and kind is IdentityKind.COOKIE_ID
            }
            found[f"{key}.{name}"] = [c for c in table.columns if c not in bucketed]
    return found


def check_changes(manifest: Manifest, changes: object) -> None:
    """Refuse a rectification's ``details.changes`` naming a target or column the manifest does
    not declare, or a value no column takes (``charter.domain.rectification``)."""
    check_targets(changes, correctable(manifest))


def plan_steps(
    manifest: Manifest,
    kind: RequestType,
    details: Mapping[str, Any],
    categories: Iterable[str],
    disclosed_to: Iterable[str],
    published: Iterable[str],
    republished: Iterable[str],
    *,
    connected: Callable[[str], bool],
    tables: Callable[[str], list[str]],
    can_notify: Callable[[str], bool],
) -> list[PlannedStep]:
    """The steps of a request (the arguments as ``RightsRunner.plan`` takes them).
    ``connected``: whether a system's connection is configured here; ``tables``: a SQL system's
    tables; ``can_notify``: whether a recipient has an address to be told at."""
    steps: list[PlannedStep] = []
    changed = systems_changed(details.get("changes") or {})
    external = [
        (key, system)
        for key, system in manifest.systems.items()
        if kind in (RequestType.ACCESS, RequestType.PORTABILITY, RequestType.ERASURE)
        or (kind is RequestType.RECTIFICATION and key in changed)
    ]
    if kind in (RequestType.ACCESS, RequestType.PORTABILITY):
        steps.append(PlannedStep(CHARTER, None, "collect"))
    for key, system in external:
        lake = system.connector is ConnectorKind.PARQUET
        webhook = system.connector is ConnectorKind.WEBHOOK
        reached = system.connector is ConnectorKind.SQL or lake or webhook
        if not reached or not connected(key):
            steps.append(PlannedStep(key, None, "manual"))
        elif webhook:
            hooked = {RequestType.ERASURE: "erase", RequestType.RECTIFICATION: "rectify"}
            steps.append(PlannedStep(key, None, hooked.get(kind, "collect")))
        elif kind is RequestType.ERASURE:
            steps.append(PlannedStep(key, None, "erase"))
        elif kind is RequestType.RECTIFICATION:
            steps.append(PlannedStep(key, None, "rectify"))
        elif lake:
            steps.extend(PlannedStep(key, t, "collect") for t in system.tables)
        else:
            steps.extend(PlannedStep(key, t, "collect") for t in tables(key))
    own = {
        RequestType.ACCESS: "package",
        RequestType.PORTABILITY: "package",
        RequestType.ERASURE: "erase",
        RequestType.RESTRICTION: "restrict",
        RequestType.OBJECTION: "object",
        RequestType.WITHDRAW_CONSENT: "withdraw",
    }.get(kind)
    if kind is RequestType.RECTIFICATION and CHARTER in (details.get("changes") or {}):
        own = "rectify"
    if kind in NOTIFIED_TYPES:
        # Before Charter's own step: an erasure there removes the identifiers to send.
        held = set(categories) | {
            column.category
            for system in manifest.systems.values()
            if system.connector is ConnectorKind.SQL
            for table in system.tables.values()
            for column in table.columns.values()
        }
        told = recipients_to_notify(manifest, held, disclosed_to)
        for key in told:
            action = "notify" if can_notify(key) else "manual"
            steps.append(PlannedStep(RECIPIENTS, key, action))
        if kind is RequestType.ERASURE:
            # Art. 17(2): those copying what the person published (told once).
            republishers = {
                key: tp.publication.republishers
                for key, tp in manifest.touchpoints.items()
                if tp.publication is not None
            }
            for key in republishers_to_tell(published, republishers):
                if key not in told:
                    action = "notify" if can_notify(key) else "manual"
                    steps.append(PlannedStep(PUBLICATION, key, action))
            steps.extend(
                PlannedStep(PUBLICATION, f"{RECORDED}{record}", "notify") for record in republished
            )
    if own is not None:
        steps.append(PlannedStep(CHARTER, None, own))
    if kind is RequestType.PORTABILITY and details.get("push_to"):
        steps.append(PlannedStep(CHARTER, None, "push"))
    return steps


def staff_note(manifest: Manifest, step: Any, connected: Callable[[str], bool]) -> str:
    """What staff are asked to do for a step that waits for them, and why Charter cannot."""
    if step.system in (RECIPIENTS, PUBLICATION):
        recipient = manifest.recipients[step.target]
        return (
            f"{recipient.name} has no notify address: tell it (Art. 17(2), 19), then "
            f"confirm step {step.seq}"
        )
    system = manifest.systems[step.system]
    connectable = system.connector in (ConnectorKind.SQL, ConnectorKind.PARQUET)
    if system.connector is ConnectorKind.WEBHOOK and not connected(step.system):
        variables = [v for v in (system.connection_env, system.secret_env) if v]
        why = f"its webhook ({' and '.join(variables)}) is not set"
    elif connectable and not connected(step.system):
        why = f"its connection ({system.connection_env}) is not set"
    elif connectable or system.connector is ConnectorKind.WEBHOOK:
        why = "its connection was not set when the request was planned"
    else:
        why = f"Charter has no {system.connector.value} connector"
    return f"{system.name}: {why}; carry out step {step.seq} by hand, then confirm it"
