"""The filing registry of generative-AI services: read by every role, added to by officers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from suanli.api.deps import ALL_ROLES, UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.schemas.filings import FilingIn, filing_json
from suanli.services import filings

router = APIRouter(tags=["filings"], route_class=RetryingRoute)

Reader = Annotated[Principal, Depends(authorize(*ALL_ROLES))]
Officer = Annotated[Principal, Depends(authorize(Role.OFFICER))]


@router.get("/filings", summary="Filed generative-AI services (shipped and added)")
def list_filings(uow: UoW, who: Reader) -> list[dict[str, Any]]:
    return [filing_json(f) for f in filings.list_filings(uow, who)]


@router.get("/filings/{filing_number}", summary="One filed service by its filing number")
def read_filing(filing_number: str, uow: UoW, who: Reader) -> dict[str, Any]:
    return filing_json(filings.get_filing(uow, who, filing_number))


@router.post(
    "/filings", status_code=201, summary="Add a filed service (officers; idempotent by number)"
)
def add_filing(body: FilingIn, uow: UoW, who: Officer) -> dict[str, Any]:
    return filing_json(filings.add_filing(uow, who, body.record()))
