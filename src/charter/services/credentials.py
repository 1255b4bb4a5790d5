"""Checking a person's password, and the promises that keep it secret.

The policy: passwords are collected "only for authentication and account access", and "we will
never ask you to disclose your password". A field of category ``user.authorization.credentials``
is kept only as an Argon2id hash (``charter.services.values``), sealed in the vault like every
value, and is never shown back (``charter.domain.credentials``: the access package says that a
password is set and when it last changed).

``CredentialService.verify`` is how a brand's sign-in checks one (GDPR Art. 5(1)(f), 32):

- the person is the one the identities name; identities naming two people who are not linked
  name nobody (whose password it is would be a guess);
- the password checked is the person's latest value of a credentials field collected for that
  brand, at any of its touchpoints (one account per brand; a password changed at one form is
  the password everywhere in the brand), or at ``touchpoint`` alone when one is given;
- an unknown person, one with no password for the brand, and a wrong password all answer
  ``False`` alike, and Argon2 runs in every case, so that neither the answer nor its time tells
  whether the person is known (no account enumeration);
- a hash made with weaker parameters than today's is replaced by a new one on a successful
  check (the password is at hand only then); the value keeps its collection time, since the
  person did not change the password.

A password changes by a new submission of the field at a touchpoint: the latest value wins. It
is never changed by a rights request (Art. 16 rectification): ``refuse_credential_changes``
refuses one at intake, because a value given that way would be stored in clear and because a
password is changed by whoever can sign in to the account, not by whoever can read its mail.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import or_, select, update

from charter.domain.clock import Clock
from charter.domain.credentials import CREDENTIALS, Secret, conceal, is_credential
from charter.domain.errors import InvalidInput, InvalidValue, NotFound
from charter.manifest.models import Manifest
from charter.services.brands import require_brand
from charter.services.identify import hash_identities, owners_of
from charter.storage.store import Store
from charter.storage.subjects import SubjectRepository
from charter.storage.tables import personal_values
from charter.storage.vault import Vault

logger = logging.getLogger("charter.credentials")

MAX_PASSWORD = 1024
"""No stored password is longer (``charter.services.values``): a longer one cannot match."""
CHARTER = "charter"
"""The target of corrections to Charter's own values in a rectification's ``changes``."""


@dataclass(frozen=True, slots=True)
class _Stored:
    row_id: int
    subject_id: str
    label: str
    password_hash: str


class CredentialService:
    def __init__(
        self, manifest: Manifest, store: Store, clock: Clock, hasher: PasswordHasher | None = None
    ) -> None:
        self.manifest = manifest
        self.store = store
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def verify(
        self,
        brand: str,
        identities: Mapping[str, Any],
        password: str,
        touchpoint: str | None = None,
    ) -> bool:
        """Whether ``password`` is the person's current password at ``brand`` (see the module
        docstring). Bad input (an unknown brand or touchpoint, a malformed identity, a password
        that is not a non-empty string of at most 1024 characters) is refused; the password is
        never named in a message."""
        if not isinstance(password, str) or not password:
            raise InvalidValue("password: must be a non-empty string")
        if len(password) > MAX_PASSWORD:
            raise InvalidValue(f"password: at most {MAX_PASSWORD} characters")
        require_brand(self.manifest, brand)
        allowed = self._touchpoint_identities(brand, touchpoint)
        hashed = hash_identities(
            self.store.vault, identities, self.manifest.policy.default_phone_region, allowed
        )
        dummy = self._dummy_hash()  # made before the lookup, so the first call costs the same
        stored = self._latest(brand, hashed, touchpoint)
        # Argon2 runs whatever was found, so the answer takes about as long for anybody.
        matched = self._matches(stored.password_hash if stored else dummy, password)
        if stored is None or not matched:
            return False
        if self.hasher.check_needs_rehash(stored.password_hash):
            self._rehash(stored, password)
        return True

    def _touchpoint_identities(self, brand: str, touchpoint: str | None) -> frozenset[str] | None:
        if touchpoint is None:
            return None
        found = self.manifest.touchpoints.get(touchpoint)
        if found is None:
            raise NotFound(
                f"no touchpoint '{touchpoint}' in the manifest", code="unknown_touchpoint"
            )
        if brand not in self.manifest.touchpoint_brands(found):
            raise InvalidInput(
                f"touchpoint '{touchpoint}' is not offered by brand '{brand}'",
                code="brand_not_offered",
            )
        if not any(is_credential(s.category, s.type.value) for s in found.fields.values()):
            raise InvalidInput(
                f"touchpoint '{touchpoint}' collects no password", code="no_password_field"
            )
        return frozenset(kind.value for kind in found.identities)

    def _latest(self, brand: str, hashed: Any, touchpoint: str | None) -> _Stored | None:
        """The person's latest credential at ``brand`` (and ``touchpoint``), or ``None``."""
        with self.store.read() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            owners = set(owners_of(repo, hashed).values())
            if len(owners) != 1:
                return None  # nobody, or several people: no guessing whose password it is
            subject_id = owners.pop()
            query = (
                select(
                    personal_values.c.id,
                    personal_values.c.touchpoint,
                    personal_values.c.field,
                    personal_values.c.value_sealed,
                )
                .where(
                    personal_values.c.subject_id == subject_id,
                    personal_values.c.brand == brand,
                    or_(
                        personal_values.c.category == CREDENTIALS,
                        personal_values.c.category.startswith(CREDENTIALS + ".", autoescape=True),
                    ),
                )
                .order_by(personal_values.c.collected_at.desc(), personal_values.c.id.desc())
                .limit(1)
            )
            if touchpoint is not None:
                query = query.where(personal_values.c.touchpoint == touchpoint)
            row = connection.execute(query).first()
            if row is None:
                return None
            value = repo.open_value(subject_id, row.touchpoint, row.field, row.value_sealed)
        if not isinstance(value, str):
            return None  # not a hash (a manifest that broke lint rule credentials_hashed)
        return _Stored(int(row.id), subject_id, f"value:{row.touchpoint}.{row.field}", value)

    def _matches(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _rehash(self, stored: _Stored, password: str) -> None:
        """Replace a hash made with weaker parameters, in place: the value keeps its collection
        time (the person did not change the password). A value erased or replaced meanwhile is
        left alone."""
        new_hash = self.hasher.hash(password)  # outside the write lock
        with self.store.write() as connection:
            repo = SubjectRepository(connection, self.store.vault)
            try:
                data_key = repo.data_key(stored.subject_id)
            except LookupError:
                return  # erased meanwhile
            connection.execute(
                update(personal_values)
                .where(
                    personal_values.c.id == stored.row_id,
                    personal_values.c.subject_id == stored.subject_id,
                )
                .values(
                    value_sealed=Vault.seal(data_key, stored.subject_id, stored.label, new_hash)
                )
            )
        logger.info(
            "password hash of subject %s rehashed with today's parameters", stored.subject_id
        )

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy


def secret_of(manifest: Manifest) -> Secret:
    """``charter.domain.credentials.Secret`` for values collected under ``manifest``: by
    category, or by the declared type of the field (``password``) at its touchpoint."""

    def secret(value: Mapping[str, Any]) -> bool:
        touchpoint = manifest.touchpoints.get(str(value.get("touchpoint")))
        spec = touchpoint.fields.get(str(value.get("field"))) if touchpoint else None
        return is_credential(str(value.get("category", "")), spec.type.value if spec else None)

    return secret


def conceal_values(manifest: Manifest, values: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``values`` as they may be shown: every password replaced by the fact that one is set
    and when it last changed (``charter.domain.credentials.conceal``)."""
    return conceal(values, secret_of(manifest))


def credential_fields(manifest: Manifest) -> frozenset[str]:
    """The names of the fields that collect a credential at some touchpoint."""
    return frozenset(
        name
        for touchpoint in manifest.touchpoints.values()
        for name, spec in touchpoint.fields.items()
        if is_credential(spec.category, spec.type.value)
    )


def refuse_credential_changes(manifest: Manifest, changes: object) -> None:
    """Refuse a rectification (Art. 16) that would set a password, in Charter's values
    (``changes.charter.<field>``) or in a system's column (``changes.<system>.<table>.<column>``)
    of a credentials category: a password is changed by signing in, never by a request (see the
    module docstring). Other shapes are left to the steps that apply them."""
    if not isinstance(changes, Mapping):
        return
    own = credential_fields(manifest)
    for target, columns in changes.items():
        if not isinstance(columns, Mapping):
            continue
        system_key, _, table_key = str(target).partition(".")
        for column in columns:
            if target == CHARTER:
                secret = column in own
            else:
                system = manifest.systems.get(system_key)
                table = system.tables.get(table_key) if system else None
                spec = table.columns.get(str(column)) if table else None
                secret = spec is not None and is_credential(spec.category)
            if secret:
                raise InvalidInput(
                    f"details.changes.{target}.{column}: a password is not corrected by a "
                    "rights request; it is changed by signing in to the account (we never ask "
                    "you for your password). Nothing was filed",
                    code="password_not_rectifiable",
                )
