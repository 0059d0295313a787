"""Request-scoped dependencies: the unit of work and the authenticated principal.

A request uses one database connection: the token is looked up inside the request's own unit of
work (FastAPI hands every dependency of a request the same ``get_uow`` instance), so no request
ever waits on the pool for a second connection while holding a first. Reads (GET, HEAD) run in a
read-only unit of work, which on SQLite does not take the write lock.

Each request's unit of work carries its request id into the audit log: the caller's
``X-Request-Id`` (1-128 letters, digits and ``._:-``; any other value is replaced), else a new
one; the answer sends it back in the same header. The authenticated caller is the actor of
every entry the request appends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from suanli.api.throttle import Throttled
from suanli.domain.roles import Principal, Role
from suanli.errors import PermissionDenied, Unauthenticated
from suanli.services import audit, tokens
from suanli.store.uow import UnitOfWork

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Marks a POST that only reads (a quote, an estimate): its unit of work is read-only too.
READ_ONLY: dict[str, object] = {"x-read-only": True}
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def get_uow(request: Request, response: Response) -> Iterator[UnitOfWork]:
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    read_only = request.method in READ_METHODS or bool(extra.get("x-read-only"))
    asked = request.headers.get("x-request-id", "")
    request_id = asked if REQUEST_ID.fullmatch(asked) else None
    with UnitOfWork(request.app.state.engine, read_only=read_only, request_id=request_id) as uow:
        response.headers["X-Request-Id"] = uow.request_id
        request.state.uow = uow  # so a retried request can end this one first (api.retry)
        yield uow


UoW = Annotated[UnitOfWork, Depends(get_uow)]


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def authorize(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only the given roles. Every endpoint but /healthz declares one."""
    allowed = frozenset(roles)

    def dependency(
        request: Request, uow: UoW, authorization: Annotated[str | None, Header()] = None
    ) -> Principal:
        throttle = request.app.state.auth_throttle
        address = _client_address(request)
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthenticated("send 'Authorization: Bearer <token>'")
        try:
            principal = tokens.authenticate(uow, authorization.removeprefix("Bearer ").strip())
        except PermissionDenied as exc:
            wait_s = throttle.failed(address)
            if wait_s > 0:
                raise Throttled(wait_s) from exc
            raise Unauthenticated(str(exc)) from exc
        throttle.authenticated(authorization)
        audit.acting(uow, principal)
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise PermissionDenied(f"role {principal.role} may not do this (allowed: {names})")
        return principal

    dependency.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the role-audit test
    return dependency


ALL_ROLES = tuple(Role)
WRITE_ROLES = tuple(r for r in Role if r is not Role.AUDITOR)
