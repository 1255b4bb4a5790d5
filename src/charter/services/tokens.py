"""Bearer tokens for staff and services. Only a SHA-256 of each token is stored.

Tokens carry 256 bits of randomness, so a fast hash is enough (there is nothing to brute-force,
unlike a password), and lookups stay cheap on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import insert, select, update

from charter.domain.clock import Clock
from charter.domain.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from charter.domain.permissions import Permission, Role, allowed
from charter.storage.audit import append_audit
from charter.storage.store import Store
from charter.storage.tables import api_tokens

_PREFIX = "chr_"


@dataclass(frozen=True)
class IssuedToken:
    id: str
    role: Role
    name: str
    token: str


@dataclass(frozen=True)
class Caller:
    token_id: str
    role: Role


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


CACHE_SECONDS = 1.0
"""How long a checked token is trusted without asking the database again: one query per token
per second and process, instead of one per API call. It bounds how late a revocation made by
another process (``charter token revoke``, another server worker) takes effect; a revocation
made by this process applies to its very next call."""


class TokenService:
    def __init__(
        self, store: Store, clock: Clock, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.clock = clock
        self._monotonic = monotonic
        # digest -> (caller, monotonic expiry): spares a query on every API call.
        self._cache: dict[str, tuple[Caller, float]] = {}
        # Bumped by every revocation: a check that read the token before a revocation in this
        # process committed must not cache what it read after the revocation emptied the cache.
        self._revocations = 0
        self._lock = threading.Lock()

    def create(self, role: str, name: str = "", *, actor: str = "system") -> IssuedToken:
        """A new token for ``role``; audited as ``token.created`` by ``actor`` (its role, never
        its name: a name may be a person's)."""
        try:
            checked = Role(role)
        except ValueError:
            raise InvalidInput(
                f"no role '{role}' (roles: {', '.join(r.value for r in Role)})", code="unknown_role"
            ) from None
        token_id = secrets.token_hex(8)
        token = f"{_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        with self.store.write() as connection:
            connection.execute(
                insert(api_tokens).values(
                    id=token_id,
                    token_hash=_digest(token),
                    role=checked.value,
                    name=name or checked.value,
                    created_at=self.clock(),
                )
            )
            append_audit(
                connection,
                at=self.clock(),
                actor=actor,
                action="token.created",
                target=token_id,
                details={"role": checked.value},
            )
        return IssuedToken(token_id, checked, name or checked.value, token)

    def revoke(self, token_id: str, *, actor: str = "system") -> None:
        """Revoke an active token; audited as ``token.revoked`` by ``actor``."""
        with self.store.write() as connection:
            done = connection.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )
            if done.rowcount == 0:
                raise NotFound(f"no active token '{token_id}'", code="unknown_token")
            append_audit(
                connection, at=self.clock(), actor=actor, action="token.revoked", target=token_id
            )
        with self._lock:
            self._revocations += 1
            self._cache = {k: v for k, v in self._cache.items() if v[0].token_id != token_id}

    def authenticate(self, token: str | None) -> Caller:
        if not token or not token.startswith(_PREFIX):
            raise Unauthorized("a bearer token is required (Authorization: Bearer chr_...)")
        digest = _digest(token)
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > self._monotonic():
            return cached[0]
        revocations = self._revocations
        caller = self._active(digest)
        if caller is None:
            self._cache.pop(digest, None)
            raise Unauthorized("the bearer token is unknown or revoked")
        with self._lock:
            if revocations == self._revocations:
                if len(self._cache) > 10_000:  # bounded: tokens are few, junk must not grow it
                    self._cache.clear()
                self._cache[digest] = (caller, self._monotonic() + CACHE_SECONDS)
        return caller

    def _active(self, digest: str) -> Caller | None:
        """The caller of the active (unrevoked) token with this digest, from the database."""
        with self.store.read() as connection:
            row = connection.execute(
                select(api_tokens.c.id, api_tokens.c.role).where(
                    api_tokens.c.token_hash == digest, api_tokens.c.revoked_at.is_(None)
                )
            ).one_or_none()
        return None if row is None else Caller(row.id, Role(row.role))

    def authorise(self, token: str | None, permission: Permission) -> Caller:
        caller = self.authenticate(token)
        if not allowed(caller.role, permission):
            raise Forbidden(
                f"role '{caller.role.value}' may not {permission.value.replace('_', ' ')}"
            )
        return caller
