"""Programs (read by every role) and the subsidy a program pays on one contract."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from suanli.api.deps import ALL_ROLES, READ_ONLY, UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.schemas.programs import SubsidyIn
from suanli.schemas.views import decision_json, program_json
from suanli.services import programs

router = APIRouter(tags=["programs"], route_class=RetryingRoute)

Reader = Annotated[Principal, Depends(authorize(*ALL_ROLES))]
Asker = Annotated[
    Principal, Depends(authorize(Role.OFFICER, Role.REVIEWER, Role.TENANT, Role.PROVIDER))
]


@router.get("/programs", summary="List the programs")
def list_programs(who: Reader) -> list[dict[str, Any]]:
    return [program_json(p) for p in programs.load_programs().values()]


@router.get("/programs/{program_id}", summary="One program, explained in words")
def show_program(program_id: str, who: Reader) -> dict[str, Any]:
    return program_json(programs.get_program(program_id), words=True)


@router.post(
    "/subsidy",
    summary="The subsidy a program pays a tenant on one contract",
    openapi_extra=READ_ONLY,
)
def subsidy(body: SubsidyIn, uow: UoW, who: Asker) -> dict[str, Any]:
    return decision_json(programs.decide_subsidy(uow, who, **body.question()))
