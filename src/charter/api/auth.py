"""Bearer-token checks as FastAPI dependencies; the permission table is ``domain.permissions``."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from charter.domain.permissions import Permission
from charter.facade import Charter
from charter.services.tokens import Caller

_bearer = HTTPBearer(auto_error=False, description="A token from `charter token create`.")


def get_charter(request: Request) -> Charter:
    charter: Charter = request.app.state.charter
    return charter


def require(permission: Permission) -> Callable[..., Caller]:
    def dependency(
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
        charter: Charter = Depends(get_charter),
    ) -> Caller:
        token = credentials.credentials if credentials is not None else None
        return charter.authorise(token, permission)

    return dependency
