"""Rate limits for the public endpoints (request intake, verification, downloads).

A sliding window per (bucket, client address), in process: with several workers each keeps its
own count, so the effective limit is the per-worker limit times the workers; a deployment behind
a proxy sets the client address with uvicorn's ``--forwarded-allow-ips``. Memory is bounded:
stale entries are pruned as the table grows.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable

from fastapi import Request

from charter.domain.errors import RateLimited

_MAX_KEYS = 50_000


class SlidingWindow:
    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

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

    def _prune(self, now: float) -> None:
        self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.seconds}


def limited(
    bucket: str, window_name: str = "public_rate_limit"
) -> Callable[[Request], Awaitable[None]]:
    """A dependency counting calls to ``bucket`` per client against one of the app's windows
    (``app.state.<window_name>``)."""

    async def dependency(request: Request) -> None:
        window: SlidingWindow = getattr(request.app.state, window_name)
        client = request.client.host if request.client is not None else "unknown"
        window.hit(f"{bucket}:{client}")

    return dependency
