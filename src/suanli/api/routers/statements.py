"""Monthly statements of settled runs, per tenant, provider or voucher program (JSON or CSV)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from suanli.api.deps import ALL_ROLES, UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal
from suanli.services import statements

router = APIRouter(tags=["statements"], route_class=RetryingRoute)
Reader = Annotated[Principal, Depends(authorize(*ALL_ROLES))]


@router.get(
    "/statements",
    summary="A month's settled runs of one tenant, provider or program",
    responses={
        200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}}}
    },
)
def monthly_statement(
    uow: UoW,
    who: Reader,
    month: Annotated[str, Query(description="YYYY-MM")],
    tenant: str | None = None,
    provider: str | None = None,
    program: str | None = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    result = statements.statement(
        uow, who, month, tenant=tenant, provider=provider, program=program
    )
    if format == "csv":
        return PlainTextResponse(statements.to_csv(result), media_type="text/csv")
    return result.to_dict()
