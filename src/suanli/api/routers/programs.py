"""Programs (read by every role) and the subsidy a program pays on one contract."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from suanli.api.deps import ALL_ROLES, READ_ONLY, UoW, authorize
from suanli.api.retry import RetryingRoute
from suanli.api.routers.registry import TenantIn
from suanli.api.schemas import AccelHours, Body, Currency, Fen, Ref
from suanli.domain.programs import Program, RateSet
from suanli.domain.registry import Tenant
from suanli.domain.roles import Principal, Role
from suanli.domain.subsidy import Contract, SubsidyDecision
from suanli.errors import PermissionDenied, ValidationError
from suanli.services import programs, registry
from suanli.store.uow import UnitOfWork

router = APIRouter(tags=["programs"], route_class=RetryingRoute)

Reader = Annotated[Principal, Depends(authorize(*ALL_ROLES))]
Asker = Annotated[
    Principal, Depends(authorize(Role.OFFICER, Role.REVIEWER, Role.TENANT, Role.PROVIDER))
]


class ContractIn(Body):
    provider_id: Ref
    accelerator_id: str = Field(min_length=1, max_length=64, description="catalog id or alias")
    accelerator_hours: AccelHours
    amount_fen: Fen = Field(description="contract amount in minor units (fen, cents)")
    currency: Currency = "CNY"
    start_on: date = Field(strict=False)  # ISO text in JSON
    end_on: date | None = Field(None, strict=False)
    provider_city: str = Field("", max_length=100, description="filled from the registry")
    provider_related_parties: list[Ref] = Field([], max_length=100)
    contract_id: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="the contract or invoice number; when given, applications of one tenant "
        "naming it are on the same cost, whatever else they state",
    )

    def to_domain(self) -> Contract:
        if self.end_on is not None and self.end_on < self.start_on:
            raise ValidationError("contract.end_on", "must not be before start_on")
        return Contract(
            provider_id=self.provider_id,
            accelerator_id=self.accelerator_id,
            accelerator_hours=Fraction(str(self.accelerator_hours)),
            amount_fen=self.amount_fen,
            currency=self.currency,
            start_on=self.start_on,
            end_on=self.end_on,
            provider_city=self.provider_city,
            provider_related_parties=tuple(self.provider_related_parties),
            contract_id=self.contract_id or "",
        )


class SubsidyIn(Body):
    program_id: Ref
    tenant_id: Ref | None = Field(None, description="a registered tenant, or give `tenant`")
    tenant: TenantIn | None = Field(None, description="the tenant's facts inline")
    contract: ContractIn
    already_subsidised_this_year_fen: Fen = 0
    other_subsidies_fen: Fen = 0
    other_programs: list[Ref] = Field([], max_length=32)
    milestones: list[Ref] = Field(["award"], max_length=32)
    tier: Ref | None = None


def tenant_from(data: TenantIn) -> Tenant:
    values = data.model_dump()
    values["related_parties"] = tuple(values["related_parties"])
    return Tenant(**values)


def resolve_tenant(uow: UnitOfWork | None, who: Principal, body: SubsidyIn) -> Tenant:
    """The tenant by id from the registry (read rights apply) or the inline facts."""
    if (body.tenant_id is None) == (body.tenant is None):
        raise ValidationError("tenant_id", "give either tenant_id or tenant")
    if body.tenant_id is not None:
        if uow is None:
            raise ValidationError("tenant_id", "needs a database; give the tenant's facts inline")
        return registry.get(uow, who, Tenant, body.tenant_id)
    assert body.tenant is not None
    if who.role == Role.TENANT and body.tenant.id != who.org_id:
        raise PermissionDenied("a tenant may only ask about itself")
    return tenant_from(body.tenant)


def decide(uow: UnitOfWork | None, who: Principal, body: SubsidyIn) -> SubsidyDecision:
    """One entry for API and CLI: the same checks, the same service call."""
    tenant = resolve_tenant(uow, who, body)
    return programs.subsidy_for_contract(
        uow,
        body.program_id,
        tenant,
        body.contract.to_domain(),
        already_subsidised_this_year_fen=body.already_subsidised_this_year_fen,
        other_subsidies_fen=body.other_subsidies_fen,
        other_programs=body.other_programs,
        milestones=frozenset(body.milestones),
        tier=body.tier,
    )


def _rate(rate: Fraction | None) -> str | None:
    return None if rate is None else str(rate)


def _rates(rates: RateSet) -> dict[str, str | None]:
    return {"domestic": _rate(rates.domestic), "foreign": _rate(rates.foreign)}


def program_json(program: Program, *, words: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": program.id,
        "name": program.name,
        "kind": program.kind,
        "issuer": program.issuer,
        "jurisdiction": program.jurisdiction,
        "currency": program.currency,
        "version": program.version,
        "valid_from": program.valid_from,
        "valid_until": program.valid_until,
        "budget_per_year_fen": program.budget_per_year_fen,
        "rates": _rates(program.rates),
        "classes": [
            {"id": c.id, "when": c.when.expr, "reason": c.when.reason, "rates": _rates(c.rates)}
            for c in program.classes
        ],
        "cap_per_entity_fen": program.cap_per_entity_fen,
        "cap_period": program.cap_period,
        "tranches": [{"share": str(t.share), "on": t.on} for t in program.tranches],
        "accredited_providers": (
            "any" if program.accredited_providers is None else list(program.accredited_providers)
        ),
        "stacking": {
            "with": list(program.stacking.with_programs),
            "max_total_rate": str(program.stacking.max_total_rate),
            "requires": list(program.stacking.requires),
        },
        "eligibility": [
            {"id": r.id, "expr": r.expr, "reason": r.reason} for r in program.eligibility
        ],
        "parameters": dict(program.parameters),
        "sources": list(program.sources),
        "confidence": program.confidence,
    }
    if words:
        data["explanation"] = programs.explain(program)
    return data


def decision_json(decision: SubsidyDecision) -> dict[str, Any]:
    return {
        "program_id": decision.program_id,
        "eligible": decision.eligible,
        "subsidy_fen": decision.subsidy_fen,
        "rate": str(decision.rate),
        "rate_float": float(decision.rate),
        "amount_fen": decision.amount_fen,
        "currency": decision.currency,
        "credits_used": decision.credits_used,
        "reasons": [
            {"check": v.check, "passed": v.passed, "reason": v.reason} for v in decision.reasons
        ],
        "lines": list(decision.lines),
    }


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
    return decision_json(decide(uow, who, body))
