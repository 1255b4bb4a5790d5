"""Errors to HTTP, in one place: ``{"error": {"code": ..., "message": ...}}`` with a 4xx status.

Validation messages name the location and the rule, never the submitted value (it may be
personal data, or a card number). A 5xx is always a bug: it is logged with its trace and the
caller gets a generic message.

The OpenAPI document says so too (``documented``): every error answer is JSON ``ErrorOut``,
and the answers that come from here rather than from a route (400 malformed JSON, 413 body too
large, 422 invalid request) are listed on every operation that can give them.
"""

from __future__ import annotations

import http
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from charter.api.schemas import ErrorOut
from charter.domain.errors import (
    CharterError,
    Conflict,
    Forbidden,
    InvalidInput,
    ManifestError,
    NotFound,
    RateLimited,
    Unauthorized,
)

logger = logging.getLogger("charter.api")

STATUS: list[tuple[type[CharterError], int]] = [
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (Unauthorized, 401),
    (Forbidden, 403),
    (RateLimited, 429),
    (ManifestError, 500),
]

_HTTP_CODES = {
    400: "malformed_body",  # FastAPI could not read the body at all (not UTF-8 JSON, say)
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _location(loc: tuple[object, ...]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


async def _charter_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CharterError)
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 400)
    if status >= 500:
        logger.error("server-side error %s: %s", exc.code, exc.message)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return error_response(status, exc.code, exc.message, headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    problems = []
    for error in errors:
        message = "missing" if error["type"] == "missing" else str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        problems.append(f"{_location(tuple(error['loc']))}: {message}")
    return error_response(422, "invalid_request", "; ".join(problems))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "an internal error occurred; it has been logged")


_SCHEMAS = "#/components/schemas/"
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def documented(openapi: dict[str, Any]) -> dict[str, Any]:
    """``openapi`` with the error answers as they are sent. FastAPI documents a 422 of its own
    shape (``HTTPValidationError``) and gives a route's extra responses the route's media type
    (text/html on a page); here every 4xx is ``application/json`` ``ErrorOut``, and operations
    taking a body also list 400 (malformed JSON) and 413 (body too large, ``BodySizeLimit``)."""
    error = {"application/json": {"schema": {"$ref": f"{_SCHEMAS}{ErrorOut.__name__}"}}}
    for path in openapi.get("paths", {}).values():
        for operation in path.values():
            responses = operation.setdefault("responses", {})
            shell = [400, 413, 422] if "requestBody" in operation else []
            for status in shell:
                responses.setdefault(str(status), {"description": http.HTTPStatus(status).phrase})
            for status, response in responses.items():
                if status.startswith("4"):
                    response["content"] = dict(error)
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    definitions = ErrorOut.model_json_schema(ref_template=_SCHEMAS + "{model}")
    schemas.update(definitions.pop("$defs", {}))
    schemas[ErrorOut.__name__] = definitions
    return openapi


def install(app: FastAPI) -> None:
    """Map errors to HTTP on ``app``, and document them in its OpenAPI document."""
    app.add_exception_handler(CharterError, _charter_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = documented(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
