"""Bearer-token checks as FastAPI dependencies; the permission table is ``domain.permissions``.

Each check is an object that keeps the permission it checks (``.permission``), so that the
permission a route needs can be read back from the route's dependencies: the route test walks
every route of the app that way, and a route that declares none must be on its public list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.tokens import Caller

T = TypeVar("T")
bearer = HTTPBearer(auto_error=False, description="A token from `charter token create`.")
"""The ``Authorization: Bearer`` parser of every staff route (and of ``charter.api.fast``)."""
STAFF_PREFIX = "chr_"
"""Staff and service tokens start so; a person's access token never does."""


async def get_charter(request: Request) -> Charter:
    # ``async`` although it awaits nothing: FastAPI runs a plain ``def`` dependency in its
    # thread pool, a thread hop per request for an attribute read.
    charter: Charter = request.app.state.charter
    return charter


class Requirement:
    """A bearer token whose role has ``permission``: 401 without a valid token, 403 when the
    role lacks it (``charter.domain.permissions.PERMISSIONS``)."""

    admits_person = False

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        charter: Charter = Depends(get_charter),
    ) -> Caller:
        token = credentials.credentials if credentials is not None else None
        return await blocking(charter, charter.authorise, token, self.permission)


class StaffOrPerson(Requirement):
    """A staff or service token (``chr_...``) with ``permission``, or else nobody yet: the
    route then checks the person's own credential (a request's access token, a signed link) and
    refuses without it. Returns the staff caller, or ``None``."""

    admits_person = True

    async def __call__(  # type: ignore[override]
        self,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        charter: Charter = Depends(get_charter),
    ) -> Caller | None:
        if credentials is None or not credentials.credentials.startswith(STAFF_PREFIX):
            return None
        return await blocking(charter, charter.authorise, credentials.credentials, self.permission)


def require(permission: Permission) -> Requirement:
    return Requirement(permission)


def staff_or_person(permission: Permission) -> StaffOrPerson:
    return StaffOrPerson(permission)


async def blocking(charter: Charter, call: Callable[..., T], *args: Any) -> T:
    """Run a call that may read the database: in place when the database is embedded (a
    SQLite read takes microseconds, less than a hop to the thread pool and back), in the
    thread pool when it is a server (its network wait must not stall the event loop)."""
    if charter.store.embedded:
        return call(*args)
    return await run_in_threadpool(call, *args)
