"""The fast path of ``POST /v1/decisions``, the call brands make before every use of data.

Through the full stack a decision spends most of its time outside the decision: matching the
path against every route of the app, then FastAPI solving the route's dependencies. This ASGI
middleware sits in front of the router and inside the other middlewares (the body size
limit, the security headers and CORS still wrap it), and answers a request only when the route
itself would answer it with 200, using the route's own parts: the body read as FastAPI reads
it (``json.loads`` of a JSON media type), the route's model (``DecisionIn``), its bearer scheme
(``auth.bearer``) and requirement (``consents.DECIDE``), and its answer
(``consents.answer_decision``). The path is matched by the router's own rule
(``get_route_path``, which honours a ``root_path``).

Everything else goes to the full stack unchanged, the body replayed as it came: other paths
and methods, a body that is not JSON or not valid, a missing, unknown, revoked or
under-privileged token, an unknown brand. Those answers and their error messages therefore
exist once, in the route and ``charter.api.errors``; a refused call costs its checks twice,
which only refused calls pay. The route stays the documented one (OpenAPI, permissions).
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from charter.api.auth import bearer, get_charter
from charter.api.routes.consents import DECIDE, DecisionIn, answer_decision
from charter.domain.errors import CharterError

PATH = "/v1/decisions"


def _is_json(content_type: str | None) -> bool:
    # A subset of the media types FastAPI reads as JSON (``application/json`` with any
    # parameters); ``+json`` types and the like take the full stack, which accepts them too.
    if content_type is None:
        return False
    return content_type.partition(";")[0].strip().lower() == "application/json"


class DecisionFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or get_route_path(scope) != PATH:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        request = Request(scope)
        if messages[-1]["type"] == "http.request" and _is_json(request.headers.get("content-type")):
            body = b"".join(m.get("body", b"") for m in messages)
            response = await self._answer(request, body)
            if response is not None:
                await response(scope, receive, send)
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _answer(request: Request, body: bytes) -> Response | None:
        try:
            # What ``Request.json`` does; any failure (syntax, encoding, nesting too deep)
            # is the full stack's to report.
            payload = json.loads(body)
        except (ValueError, RecursionError):
            return None
        try:
            fields = DecisionIn.model_validate(payload)
        except ValidationError:
            return None
        charter = await get_charter(request)
        try:
            await DECIDE(await bearer(request), charter)
            return await answer_decision(fields, charter)
        except CharterError:
            return None
