"""Map the error hierarchy to HTTP answers. Field errors use FastAPI's own 422 shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from suanli.api.deps import Unauthenticated
from suanli.errors import (
    BackendError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    SuanliError,
    ValidationError,
)


class ErrorOut(BaseModel):
    detail: str


# Declared on every operation so the OpenAPI says what a refusal looks like.
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "no usable credentials"},
    403: {"model": ErrorOut, "description": "the caller's role or organisation may not do this"},
    404: {"model": ErrorOut, "description": "a referenced record does not exist"},
    409: {"model": ErrorOut, "description": "an id reused with other content, or a stale lease"},
    503: {"model": ErrorOut, "description": "a database or site backend failed"},
}


def _field_error(exc: ValidationError) -> JSONResponse:
    loc = ["body", *exc.field.split(".")]
    detail = [{"type": "value_error", "loc": loc, "msg": exc.message, "field": exc.field}]
    return JSONResponse(status_code=422, content={"detail": detail})


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

    app.add_exception_handler(SuanliError, handle)
    app.add_exception_handler(HTTPException, handle_http)
