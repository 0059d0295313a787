"""Map the error hierarchy to HTTP answers. Field errors use FastAPI's own 422 shape."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from suanli.api.throttle import Throttled
from suanli.errors import (
    BackendError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    SuanliError,
    Unauthenticated,
    ValidationError,
)
from suanli.rejection import Kind, Rejection

log = logging.getLogger("suanli.api")


class ErrorOut(BaseModel):
    detail: str


# Declared on every operation so the OpenAPI says what a refusal looks like.
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no usable credentials"},
    403: {"model": ErrorOut, "description": "the caller's role or organisation may not do this"},
    404: {"model": ErrorOut, "description": "a referenced record does not exist"},
    409: {"model": ErrorOut, "description": "an id reused with other content, or a stale lease"},
    413: {"model": ErrorOut, "description": "the request body is over the size limit"},
    429: {"model": ErrorOut, "description": "too many failed authentications from this address"},
    503: {"model": ErrorOut, "description": "busy or a backend failed; see Retry-After"},
}


class AsciiJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped: a reply that echoes input holding a lone
    surrogate (valid JSON text, not valid UTF-8) still encodes."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def answer_rejection(response: Response, rejection: Rejection | None) -> dict[str, str] | None:
    """The one place a business rejection becomes HTTP: a conflict with the current state is
    409, a request that can never succeed as stated is 422. Sets the answer's status and
    returns the rejection as JSON; None (and the status untouched) when nothing was refused."""
    if rejection is None:
        return None
    response.status_code = 409 if rejection.kind is Kind.CONFLICT else 422
    return rejection.to_dict()


def _field_error(exc: ValidationError) -> JSONResponse:
    loc = ["body", *exc.field.split(".")]
    detail = [{"type": "value_error", "loc": loc, "msg": exc.message, "field": exc.field}]
    return AsciiJSONResponse(status_code=422, content={"detail": detail})


def _field_of(loc: Any) -> str:
    """A pydantic location as the dotted field name our own errors use: body.a.0.b -> a.0.b."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _busy(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})


def install(app: FastAPI) -> None:
    statuses: list[tuple[type[SuanliError], int]] = [
        (Unauthenticated, 401),
        (PermissionDenied, 403),
        (NotFoundError, 404),
        (ConflictError, 409),
        (BackendError, 503),
    ]

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ValidationError):
            return _field_error(exc)
        if isinstance(exc, Throttled):
            retry = str(exc.retry_after_header())
            return JSONResponse(
                {"detail": str(exc)}, status_code=429, headers={"Retry-After": retry}
            )
        for kind, status in statuses:
            if isinstance(exc, kind):
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
                return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)
        return JSONResponse({"detail": str(exc)}, status_code=400)

    async def handle_http(request: Request, exc: Exception) -> Response:
        # FastAPI answers 400 for a body it cannot decode (e.g. not UTF-8); it is bad input
        # like any other, so it gets the same 422 naming the body.
        if isinstance(exc, HTTPException) and exc.status_code == 400:
            detail = [{"type": "json_invalid", "loc": ["body"], "msg": "body is not valid JSON"}]
            return JSONResponse(status_code=422, content={"detail": detail})
        return await http_exception_handler(request, exc)  # type: ignore[arg-type]

    async def handle_request_validation(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        detail = [{**e, "field": _field_of(e.get("loc", ()))} for e in exc.errors()]
        return AsciiJSONResponse(status_code=422, content={"detail": jsonable_encoder(detail)})

    async def handle_database(_request: Request, exc: Exception) -> Response:
        # The pool had no connection in time, SQLite stayed locked past its busy timeout, or
        # the server went away: the request changed nothing and may be sent again.
        if isinstance(exc, PoolTimeout):
            return _busy("no database connection free; retry shortly")
        if isinstance(exc, OperationalError):
            log.warning("answered 503: %s", str(exc.orig or exc).splitlines()[0])
            return _busy("the database is busy or unreachable; retry shortly")
        raise exc

    app.add_exception_handler(SuanliError, handle)
    app.add_exception_handler(HTTPException, handle_http)
    app.add_exception_handler(RequestValidationError, handle_request_validation)
    app.add_exception_handler(PoolTimeout, handle_database)
    app.add_exception_handler(OperationalError, handle_database)
