"""Map the error hierarchy to HTTP answers. Field errors use FastAPI's own 422 shape."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from suanli.api.deps import Unauthenticated
from suanli.errors import (
    BackendError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    SuanliError,
    ValidationError,
)


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

    app.add_exception_handler(SuanliError, handle)
