"""API tokens for officers: list (officers and auditors), create, revoke. Secrets never appear
except once, in the answer to the create."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import Field, StrictInt

from suanli.api.deps import UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.schemas.base import Body
from suanli.services import tokens

router = APIRouter(tags=["tokens"], route_class=RetryingRoute)

Admin = Annotated[Principal, Depends(authorize(Role.OFFICER))]
Reader = Annotated[Principal, Depends(authorize(Role.OFFICER, Role.AUDITOR))]


class TokenIn(Body):
    role: Literal["officer", "reviewer", "tenant", "provider", "agent", "auditor"]
    org_id: str | None = Field(None, min_length=1, max_length=64)
    name: str = Field("", max_length=200, description="the person or service it is for")
    label: str = Field("", max_length=200)
    expires_days: StrictInt = Field(tokens.DEFAULT_TTL_DAYS, ge=1, le=tokens.MAX_TTL_DAYS)


def _out(info: tokens.TokenInfo) -> dict[str, Any]:
    return dataclasses.asdict(info)


@router.get("/tokens", summary="API tokens (not their secrets)")
def list_tokens(uow: UoW, who: Reader, include_ended: bool = False) -> list[dict[str, Any]]:
    return [_out(t) for t in tokens.listed(uow, who, include_ended=include_ended)]


@router.post("/tokens", status_code=201, summary="Create a token; its secret is shown once")
def create_token(body: TokenIn, uow: UoW, who: Admin) -> dict[str, Any]:
    token, info = tokens.issue(
        uow, who, body.role, body.org_id, name=body.name, label=body.label,
        expires_days=body.expires_days,
    )  # fmt: skip
    return {"token": token, **_out(info)}


@router.post("/tokens/{token_id}/revoke", summary="Revoke a token (again: no change)")
def revoke_token(token_id: str, uow: UoW, who: Admin) -> dict[str, Any]:
    return _out(tokens.revoke(uow, who, token_id))
