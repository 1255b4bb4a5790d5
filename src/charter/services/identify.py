"""Finding the person behind identities: normalise, hash, look up, and link.

Shared by every use case that names a person by email, phone, account id, cookie id or serial.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from charter.domain.errors import InvalidInput, UndeclaredField
from charter.manifest.models import IdentityKind
from charter.services.values import normalise_identity
from charter.storage.subjects import IdentityKey, SubjectRepository
from charter.storage.vault import Vault

Hashed = list[tuple[IdentityKey, str]]


def hash_identities(
    vault: Vault,
    identities: Mapping[str, Any],
    region: str,
    allowed: frozenset[str] | None = None,
) -> Hashed:
    """Normalise and hash the given identities; ``None`` values are ignored.

    ``allowed`` limits the kinds accepted (a touchpoint's declared identities); any other kind
    is an undeclared field.
    """
    hashed: Hashed = []
    known = {kind.value for kind in IdentityKind}
    for name, value in identities.items():
        if name not in known or (allowed is not None and name not in allowed):
            accepted = sorted(allowed if allowed is not None else known)
            raise UndeclaredField(
                f"'identities.{name}' is not an accepted identity (accepted: {', '.join(accepted)})"
            )
        if value is None:
            continue
        kind = IdentityKind(name)
        normalised = normalise_identity(kind, value, region)
        hashed.append(
            (IdentityKey(kind.value, vault.lookup_hash(kind.value, normalised)), normalised)
        )
    if not hashed:
        raise InvalidInput("give at least one identity", code="identity_required")
    return hashed


Owners = dict[IdentityKey, str]


def owners_of(repo: SubjectRepository, hashed: Hashed) -> Owners:
    """Which subject each of these identities already belongs to (the unknown ones absent)."""
    return repo.owners([key for key, _ in hashed])


def locate(repo: SubjectRepository, hashed: Hashed, owners: Owners | None = None) -> str | None:
    """The known subject for these identities (the oldest, if they name several), or ``None``.
    ``owners``: their ``owners_of``, when the caller looked them up already."""
    owners = owners_of(repo, hashed) if owners is None else owners
    if not owners:
        return None
    return repo.oldest(set(owners.values()))


def find_or_create(
    repo: SubjectRepository, hashed: Hashed, now: dt.datetime, owners: Owners | None = None
) -> str:
    """The subject for these identities, created or linked as needed; new identities attached.

    When the identities belong to several subjects, those are linked into the oldest.
    ``owners``: their ``owners_of``, when the caller looked them up already in this transaction.
    """
    owners = owners_of(repo, hashed) if owners is None else owners
    matched = set(owners.values())
    if not matched:
        subject_id = repo.create(now)
    else:
        subject_id = repo.oldest(matched)
        if len(matched) > 1:
            repo.merge(subject_id, matched - {subject_id}, now)
    repo.add_identities(
        subject_id,
        new=[(key, value) for key, value in hashed if key not in owners],
        seen=[key for key, _ in hashed if key in owners],
        now=now,
    )
    return subject_id
