"""Bodies about programs: a compute contract, and a question of what a program pays on it."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

from pydantic import Field

from suanli.domain.registry import TUPLE_FACTS, Tenant
from suanli.domain.subsidy_facts import Contract
from suanli.errors import ValidationError
from suanli.schemas.base import AccelHours, Body, Currency, Fen, Ref
from suanli.schemas.registry import TenantIn


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

    def question(self) -> dict[str, Any]:
        """The body as the arguments of ``services.programs.decide_subsidy``."""
        return {
            "program_id": self.program_id,
            "contract": self.contract.to_domain(),
            "tenant_id": self.tenant_id,
            "tenant": None if self.tenant is None else tenant_from(self.tenant),
            "already_subsidised_this_year_fen": self.already_subsidised_this_year_fen,
            "other_subsidies_fen": self.other_subsidies_fen,
            "other_programs": self.other_programs,
            "milestones": frozenset(self.milestones),
            "tier": self.tier,
        }


def tenant_from(data: TenantIn) -> Tenant:
    values = data.model_dump()
    for name in TUPLE_FACTS:
        values[name] = tuple(values[name])
    return Tenant(**values)
