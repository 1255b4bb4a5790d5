"""Bearer-token checks as FastAPI dependencies; the permission table is ``domain.permissions``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.tokens import Caller

T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="A token from `charter token create`.")


async def get_charter(request: Request) -> Charter:
    # ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    # thread pool, a thread hop per request for an attribute read.
    charter: Charter = request.app.state.charter
    return charter


def require(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    async def dependency(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
        charter: Charter = Depends(get_charter),
    ) -> Caller:
        token = credentials.credentials if credentials is not None else None
        return await blocking(charter, charter.authorise, token, permission)

    return dependency


async def blocking(charter: Charter, call: Callable[..., T], *args: Any) -> T:
    """Run a call that may read the database: in place when the database is embedded (a
    SQLite read takes microseconds, less than a hop to the thread pool and back), in the
    thread pool when it is a server (its network wait must not stall the event loop)."""
    if charter.store.embedded:
        return call(*args)
    return await run_in_threadpool(call, *args)
