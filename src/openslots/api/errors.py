"""Every error leaves the API in one shape: ``{"error": {"code", "message", "field"?}}``.

Our own errors map by class (``OpenslotsError.status``); FastAPI's request validation becomes 422
for a body and 400 for a query or path parameter, naming the field; unknown routes and methods
keep their status in our shape; anything unexpected is a 500 with no traceback or detail.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from openslots.errors import OpenslotsError

__all__ = ["error_body", "install_error_handlers"]

log = logging.getLogger("openslots.api")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def _field(location: tuple[Any, ...]) -> tuple[str, bool]:
    """The dotted field of a validation error's location, and whether it is in the body."""
    in_body = bool(location) and location[0] == "body"
    parts = (
        [str(p) for p in location[1:]]
        if location and location[0] in {"body", "query", "path", "header"}
        else [str(p) for p in location]
    )
    return ".".join(parts) or "body", in_body


async def _openslots_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpenslotsError)
    if exc.status >= 500:
        log.error("request failed: %s", exc.code)
    return JSONResponse(exc.to_dict(), status_code=exc.status)


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    field, in_body = _field(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "json_invalid":
        # Its location is a character offset, not a field.
        field, message = "body", f"the body is not valid JSON ({message})"
    status = 422 if in_body else 400
    return JSONResponse(error_body("validation_error", message, field), status_code=status)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # The client learns nothing of it (its message may carry data); the log keeps the traceback
    # for the operator.
    log.error("unexpected error %s", type(exc).__name__, exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OpenslotsError, _openslots_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
