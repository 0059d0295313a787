"""Compliance: the rules, the flags they raise on live offers, and officers' decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from suanli.api.deps import ALL_ROLES, UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.domain.roles import Principal, Role
from suanli.schemas.compliance import FlagDecisionIn
from suanli.services import compliance

router = APIRouter(tags=["compliance"], route_class=RetryingRoute)

Reader = Annotated[Principal, Depends(authorize(*ALL_ROLES))]
FlagReader = Annotated[Principal, Depends(authorize(Role.OFFICER, Role.REVIEWER, Role.AUDITOR))]
Officer = Annotated[Principal, Depends(authorize(Role.OFFICER))]


@router.get("/compliance/rules", summary="The compliance rules, each sourced")
def list_rules(who: Reader) -> list[dict[str, Any]]:
    return [r.to_dict() for r in compliance.load_rules().rules]


@router.get("/compliance/offers", summary="Live offers the rules flag, with each flag's rule")
def list_flags(uow: UoW, who: FlagReader) -> list[dict[str, Any]]:
    return [f.to_dict() for f in compliance.flagged_offers(uow, who)]


@router.post(
    "/compliance/offers/{offer_id}/clear",
    summary="Clear a flag with a reason: the rule no longer leaves the offer out",
)
def clear_flag(offer_id: str, body: FlagDecisionIn, uow: UoW, who: Officer) -> dict[str, Any]:
    return compliance.decide(uow, who, offer_id, body.rule_id, "cleared", body.reason).to_dict()


@router.post(
    "/compliance/offers/{offer_id}/confirm",
    summary="Confirm a flag with a reason: the offer stays left out",
)
def confirm_flag(offer_id: str, body: FlagDecisionIn, uow: UoW, who: Officer) -> dict[str, Any]:
    return compliance.decide(uow, who, offer_id, body.rule_id, "confirmed", body.reason).to_dict()
