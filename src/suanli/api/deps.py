"""Request-scoped dependencies: the unit of work and the authenticated principal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request

from suanli.domain.roles import Principal, Role
from suanli.errors import PermissionDenied
from suanli.services import tokens
from suanli.store.uow import UnitOfWork


class Unauthenticated(PermissionDenied):
    """No usable credentials: answered with 401 rather than 403."""


def get_uow(request: Request) -> Iterator[UnitOfWork]:
    with UnitOfWork(request.app.state.engine) as uow:
        yield uow


UoW = Annotated[UnitOfWork, Depends(get_uow)]


def authorize(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only the given roles. Every endpoint but /healthz declares one."""
    allowed = frozenset(roles)

    def dependency(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise Unauthenticated("send 'Authorization: Bearer <token>'")
        with UnitOfWork(request.app.state.engine, read_only=True) as uow:
            try:
                principal = tokens.authenticate(uow, authorization.removeprefix("Bearer ").strip())
            except PermissionDenied as exc:
                raise Unauthenticated(str(exc)) from exc
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise PermissionDenied(f"role {principal.role} may not do this (allowed: {names})")
        return principal

    dependency.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the role-audit test
    return dependency


ALL_ROLES = tuple(Role)
WRITE_ROLES = tuple(r for r in Role if r is not Role.AUDITOR)
