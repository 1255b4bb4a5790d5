"""Errors to HTTP, in one place: ``{"error": {"code": ..., "message": ...}}`` with a 4xx status.

Validation messages name the location and the rule, never the submitted value (it may be
personal data, or a card number). A 5xx is always a bug: it is logged with its trace and the
caller gets a generic message.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def install(app: FastAPI) -> None:
    app.add_exception_handler(CharterError, _charter_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
