"""The one place where errors become HTTP status codes.

    NotFound                                  404
    InvalidArguments, other PermanentError    422
    a value the database refuses (DataError)  422
    RequeueConflict                           409
    TransientError (DependencyUnavailable)    503 (+ Retry-After when known)
    Redis / database / broker unreachable     503
    anything else                             500, logged, with a generic JSON detail

Request validation keeps FastAPI's 422 shape (a list of errors naming each field), made safe to
render whatever the input was.

Domain and job code raise `consultantos.errors`; routes raise `HTTPException` only for what is
HTTP's own business (403, 400 for a missing confirmation). Every answer is `{"detail": ...}`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.responses import Response

from consultantos.errors import (
    ConsultantOSError,
    NotFound,
    PermanentError,
    TransientError,
)
from consultantos.jobs.dead_letter import RequeueConflict

log = logging.getLogger(__name__)

Handler = Callable[[Request, Exception], Awaitable[Response]]

_UNAVAILABLE: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    kombu.exceptions.OperationalError,
)
"""Library errors that mean a service of ours is down, not that the request is wrong."""


def short_reason(exc: BaseException) -> str:
    """`Type: first line of the message`, with the driver's own error for database errors."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines() or [""]
    return f"{type(cause).__name__}: {lines[0][:300]}"


def _status_of(exc: ConsultantOSError) -> int:
    if isinstance(exc, NotFound):
        return status.HTTP_404_NOT_FOUND
    if isinstance(exc, RequeueConflict):
        return status.HTTP_409_CONFLICT
    if isinstance(exc, PermanentError):  # InvalidArguments and the rest of the branch
        return status.HTTP_422_UNPROCESSABLE_CONTENT
    if isinstance(exc, TransientError):
        return status.HTTP_503_SERVICE_UNAVAILABLE
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def json_safe(value: Any) -> Any:
    """`value` with everything JSON cannot hold made printable. Validation errors echo the
    input, and FastAPI's own handler fails (a 500) on a NaN or on bytes that are not UTF-8."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else [str(exc)]
    return JSONResponse(
        {"detail": json_safe(errors)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )


async def _domain_error(request: Request, exc: Exception) -> Response:
    code = _status_of(exc) if isinstance(exc, ConsultantOSError) else 500
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if code == status.HTTP_503_SERVICE_UNAVAILABLE and retry_after is not None:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    if code >= 500:
        log.warning("%s %s failed: %r", request.method, request.url.path, exc)
    return JSONResponse({"detail": str(exc)}, status_code=code, headers=headers)


async def _service_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("%s %s: service unavailable: %r", request.method, request.url.path, exc)
    what = "the database" if isinstance(exc, sqlalchemy.exc.SQLAlchemyError) else "Redis"
    return JSONResponse(
        {"detail": f"{what} is unavailable: {short_reason(exc)}"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


async def _database_refused(request: Request, exc: Exception) -> Response:
    # Input that passed validation but that this database cannot store (e.g. a NUL character
    # in a query filter on PostgreSQL): still the request's fault, not ours.
    return JSONResponse(
        {"detail": f"the database refused a value of the request: {short_reason(exc)}"},
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("%s %s: unexpected error", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "internal error; it has been logged"},
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping above on `app`."""
    handlers: list[tuple[type[Exception], Handler]] = [
        (RequestValidationError, _invalid_request),
        (ConsultantOSError, _domain_error),
        *((error, _service_unavailable) for error in _UNAVAILABLE),
        (sqlalchemy.exc.DataError, _database_refused),
        (Exception, _unexpected),
    ]
    for error, handler in handlers:
        app.add_exception_handler(error, handler)
