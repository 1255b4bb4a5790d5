"""Rate limits for the public endpoints (request intake, verification, unsubscribe, cookie
consent, downloads): per client address, and per identity.

A sliding window counts calls per key, a key being a bucket (one endpoint, or one action that
several endpoints share, such as filing a request by API or by the privacy center's form) and
either the client address or an identity. Per address, a client cannot flood an endpoint; per
identity, one person cannot be flooded from many addresses (codes mailed to their address, a
request's verification tried, a visitor's consent ledger filled). An identity's key is an
HMAC-SHA256 under a key made at random for each window, never the value itself: the table
holds no e-mail, and its keys cannot be matched with the database's blind index. The price of
counting by identity: whoever floods a person's address also delays that person's own calls
until the window has passed.

Counts are in process: with several workers each keeps its own, so the effective limit is the
per-worker limit times the workers; a deployment behind a proxy sets the client address with
uvicorn's ``--forwarded-allow-ips``. Memory is bounded: stale entries are pruned as the table
grows. A refused call raises ``RateLimited`` (429 with ``Retry-After``) before anything is
written.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from fastapi import Request

from charter.domain.errors import InvalidValue, RateLimited
from charter.services.values import normalise_email

_MAX_KEYS = 50_000
IDENTITY_WINDOW_SECONDS = 3600.0


class SlidingWindow:
    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(32)

    def hit(self, key: str, now: float | None = None) -> None:
        """Count one call; raise ``RateLimited`` (with the wait) past the limit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) > _MAX_KEYS:
                self._prune(now)
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.seconds:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = math.ceil(hits[0] + self.seconds - now)
                raise RateLimited(
                    f"too many requests; try again in {wait} s", retry_after=max(1, wait)
                )
            hits.append(now)

    def keyed(self, kind: str, value: str) -> str:
        """The key standing for an identity in this window: a keyed hash, never the value."""
        mac = hmac.new(self._secret, f"{kind}\x00{value}".encode(), hashlib.sha256)
        return f"{kind}#{mac.hexdigest()[:32]}"

    def _prune(self, now: float) -> None:
        self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.seconds}


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def hit_client(request: Request, bucket: str, window_name: str = "public_rate_limit") -> None:
    """Count one call to ``bucket`` from the client's address against one of the app's
    windows (``app.state.<window_name>``)."""
    window: SlidingWindow = getattr(request.app.state, window_name)
    window.hit(f"{bucket}:{client_address(request)}")


def hit_identity(request: Request, bucket: str, kind: str, value: object) -> None:
    """Count one call to ``bucket`` about one identity (an e-mail, a request id, a subject, a
    cookie id), whatever its address, against ``app.state.identity_rate_limit``. An e-mail
    counts in its normalised form (``Ann@Example.org`` is ``ann@example.org``); a value that is
    missing or not a string counts nothing (the call is refused for it anyway)."""
    if not isinstance(value, str) or not value.strip():
        return
    window: SlidingWindow = request.app.state.identity_rate_limit
    window.hit(f"{bucket}:{window.keyed(kind, _normalised(kind, value))}")


def _normalised(kind: str, value: str) -> str:
    if kind != "email":
        return value.strip()
    try:
        return normalise_email(value, "email")
    except InvalidValue:
        return value.strip().lower()


def limited(
    bucket: str, window_name: str = "public_rate_limit"
) -> Callable[[Request], Awaitable[None]]:
    """A dependency counting calls to ``bucket`` per client address (``hit_client``)."""

    async def dependency(request: Request) -> None:
        hit_client(request, bucket, window_name)

    return dependency
