"""The token check's cache (``charter.services.tokens``): a revocation in this process applies
to the very next call, one in another process within ``CACHE_SECONDS``, and a check that read
the token just before a revocation does not cache it past the revocation."""

from __future__ import annotations

import pytest

from charter.domain.errors import Unauthorized
from charter.domain.permissions import Role
from charter.facade import Charter
from charter.services.tokens import CACHE_SECONDS, Caller, TokenService


class Monotonic:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def service(charter: Charter, clock: Monotonic) -> TokenService:
    """A token check of its own over the same database: what another process has."""
    return TokenService(charter.store, charter.clock, monotonic=clock)


def test_a_revocation_here_applies_to_the_next_call(charter: Charter) -> None:
    clock = Monotonic()
    tokens = service(charter, clock)
    issued = tokens.create("service")
    assert tokens.authenticate(issued.token) == Caller(issued.id, Role.SERVICE)
    tokens.revoke(issued.id)
    with pytest.raises(Unauthorized, match="unknown or revoked"):
        tokens.authenticate(issued.token)


def test_a_revocation_elsewhere_applies_within_the_cache_time(charter: Charter) -> None:
    clock = Monotonic()
    server = service(charter, clock)
    issued = charter.create_token("service")
    assert server.authenticate(issued.token).token_id == issued.id
    charter.revoke_token(issued.id)  # another process: the server's cache does not hear of it
    assert CACHE_SECONDS <= 1.0
    clock.now += CACHE_SECONDS / 2
    assert server.authenticate(issued.token).token_id == issued.id
    clock.now += CACHE_SECONDS / 2
    with pytest.raises(Unauthorized):
        server.authenticate(issued.token)


class RevokedWhileReading(TokenService):
    """A check whose read of the token lands just before a revocation in this process."""

    def __init__(self, charter: Charter, clock: Monotonic) -> None:
        super().__init__(charter.store, charter.clock, monotonic=clock)
        self.revoke_after_reading: str | None = None

    def _active(self, digest: str) -> Caller | None:
        caller = super()._active(digest)
        if self.revoke_after_reading is not None:
            self.revoke(self.revoke_after_reading)
            self.revoke_after_reading = None
        return caller


def test_a_check_racing_a_revocation_does_not_cache_the_token(charter: Charter) -> None:
    tokens = RevokedWhileReading(charter, Monotonic())
    issued = tokens.create("service")
    tokens.revoke_after_reading = issued.id
    # This call read the token while it was still active: its answer stands, as it would have
    # had it finished a moment earlier; but the next call must ask the database again.
    assert tokens.authenticate(issued.token).token_id == issued.id
    with pytest.raises(Unauthorized):
        tokens.authenticate(issued.token)
