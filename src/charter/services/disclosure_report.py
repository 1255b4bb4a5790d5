"""The disclosures made about one person, as their access report lists them (GDPR Art. 15(1)(c))
and as the notices of an erasure, correction or restriction reach them (Art. 19).

Apart from the ledger's service (``charter.services.disclosures``) because these are read by the
rights-request runner inside its own transaction, from what the ledger recorded: a person is
found by their subject (and the subject they were merged into) or by the keyed hashes of their
identities, which outlive an erasure. An authority's request marked confidential is left out
of the report while that confidentiality holds (Art. 23(1)(d)); authorities and the public are
not told under Art. 19 (Art. 4(9); the public is reached through the systems that publish).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, or_, select

from charter.domain.disclosures import COMPELLED, DisclosureKind, DisclosureStatus, confidential_now
from charter.manifest.models import Manifest, RecipientKind
from charter.services.package_data import Disclosure
from charter.storage.engine import utc
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import disclosure_identities, disclosures, identities
from charter.storage.vault import Vault


def _about(
    connection: Connection, vault: Vault, subject_id: str | None, lookups: Iterable[str]
) -> list[Any]:
    """The disclosures made about a person: recorded with their subject, or naming one of
    their identities (``lookups``: keyed hashes ``kind:hex`` given in a request, to which the
    subject's own identities are added)."""
    wanted = set(lookups)
    current = None
    if subject_id is not None:
        current = SubjectRepository(connection, vault).resolve(subject_id)
    if current is not None:
        wanted |= {
            f"{row.kind}:{bytes(row.lookup_hash).hex()}"
            for row in connection.execute(
                select(identities.c.kind, identities.c.lookup_hash).where(
                    identities.c.subject_id == current
                )
            )
        }
    conditions = []
    if current is not None:
        conditions.append(disclosures.c.subject_id.in_({subject_id, current}))
    if wanted:
        conditions.append(
            disclosures.c.id.in_(
                select(disclosure_identities.c.disclosure_id).where(
                    disclosure_identities.c.lookup.in_(sorted(wanted))
                )
            )
        )
    if not conditions:
        return []
    return list(
        connection.execute(
            select(disclosures)
            .where(or_(*conditions), disclosures.c.status == DisclosureStatus.DISCLOSED.value)
            .order_by(disclosures.c.disclosed_at, disclosures.c.id)
        )
    )


def report_disclosures(
    manifest: Manifest,
    connection: Connection,
    vault: Vault,
    subject_id: str | None,
    lookups: Iterable[str],
    now: dt.datetime,
) -> list[Disclosure]:
    """The disclosures an access report lists: those made about the person, except those
    whose confidentiality holds at ``now`` (Art. 23(1)(d); see the module docstring)."""
    found = []
    for row in _about(connection, vault, subject_id, lookups):
        until = utc(row.confidential_until) if row.confidential_until else None
        if confidential_now(bool(row.confidential), until, now):
            continue
        kind = DisclosureKind(row.kind)
        if kind in COMPELLED:
            reason = "Required by law (GDPR Art. 6(1)(c))"
        else:
            reason = "; ".join(
                manifest.purposes[p].name if p in manifest.purposes else p for p in row.purposes
            )
        found.append(
            Disclosure(
                recipient=row.recipient,
                categories=tuple(row.scope if row.scope is not None else row.categories),
                at=utc(row.disclosed_at).astimezone(dt.UTC),
                reason=reason,
                kind=kind.value,
                recipient_name=row.recipient_name,
                legal_reference=row.legal_reference,
            )
        )
    return found


def recipients_disclosed_to(
    manifest: Manifest,
    connection: Connection,
    vault: Vault,
    subject_id: str | None,
    lookups: Iterable[str],
) -> list[str]:
    """The manifest recipients to which the person's data was disclosed and which are told of
    an erasure, correction or restriction (Art. 19): processors, affiliates and third parties;
    not the public (reached through the systems that publish) nor authorities (Art. 4(9))."""
    notified = {RecipientKind.PROCESSOR, RecipientKind.AFFILIATE, RecipientKind.THIRD_PARTY}
    keys = dict.fromkeys(row.recipient for row in _about(connection, vault, subject_id, lookups))
    return [
        key
        for key in keys
        if key in manifest.recipients and manifest.recipients[key].kind in notified
    ]
