"""What a subsidy is decided on, and what it decides: a compute contract or a purchase of
accelerators, the facts a program's rules read from them, and the decision with its reasons.

``probe`` tries every rule of a program once on complete sample facts when the program loads,
so a rule that reads a fact that does not exist is refused then, not on the first contract.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from functools import lru_cache
from typing import Any

from suanli.domain.catalog import Accelerator
from suanli.domain.money import Money
from suanli.domain.parties import Parties
from suanli.domain.programs import Program
from suanli.domain.registry import Provider, Tenant
from suanli.errors import RuleEvaluationError, ValidationError


@dataclass(frozen=True, slots=True)
class Contract:
    """A compute contract: accelerator-hours of one model from one provider, for an amount."""

    provider_id: str
    accelerator_id: str
    accelerator_hours: Fraction
    amount_fen: int
    currency: str
    start_on: date
    end_on: date | None = None
    provider_city: str = ""
    provider_related_parties: tuple[str, ...] = ()
    contract_id: str = ""  # the client's contract or invoice number; "" when not given
    provider_parent_id: str | None = None
    provider_beneficial_owners: tuple[str, ...] = ()

    @property
    def provider_parties(self) -> Parties:
        return Parties(self.provider_id, self.provider_parent_id,
                       self.provider_beneficial_owners, self.provider_related_parties)  # fmt: skip

    def at(self, provider: Provider) -> Contract:
        """This contract with the provider's city and ownership as the registry records them."""
        return replace(
            self, provider_id=provider.id, provider_city=provider.city,
            provider_related_parties=provider.related_parties,
            provider_parent_id=provider.parent_id,
            provider_beneficial_owners=provider.beneficial_owners,
        )  # fmt: skip

    @property
    def term_days(self) -> int:
        """Days from start to end; 0 when the contract states no end (a one-off order)."""
        return 0 if self.end_on is None else (self.end_on - self.start_on).days


@dataclass(frozen=True, slots=True)
class Purchase:
    """A purchase of accelerators (a capex subsidy claim)."""

    accelerator_id: str
    count: int
    amount_fen: int
    currency: str
    purchased_on: date
    seller_id: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    check: str
    passed: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SubsidyDecision:
    program_id: str
    eligible: bool
    rate: Fraction
    subsidy_fen: int
    amount_fen: int
    currency: str
    reasons: tuple[Verdict, ...]
    lines: tuple[str, ...]
    credits_used: int | None = None


@lru_cache(maxsize=256)  # a few rates, written on every explanation
def percent(rate: Fraction) -> str:
    value = rate * 100
    return (
        f"{value.numerator // value.denominator} %"
        if value.denominator == 1
        else f"{float(value):.4g} %"
    )


def money_text(amount_fen: int, currency: str) -> str:
    return Money.text(amount_fen, currency)


def applicant_facts(tenant: Tenant, on: date) -> dict[str, Any]:
    return {
        "id": tenant.id,
        "registered_city": tenant.registered_city,
        "founded_on": tenant.founded_on.isoformat(),
        "age_years": tenant.age_years(on),
        "headcount": tenant.headcount,
        "annual_revenue_fen": tenant.annual_revenue_fen,
        "sector": tenant.sector,
        "is_startup": tenant.is_startup,
        "related_parties": list(tenant.related_parties),
        "parent_id": tenant.parent_id or "",
        "beneficial_owners": list(tenant.beneficial_owners),
    }


def _accelerator_facts(acc: Accelerator) -> dict[str, Any]:
    return {
        "accelerator_id": acc.id,
        "accelerator_origin": acc.origin,
        "accelerator_vendor": acc.vendor,
    }


def contract_facts(contract: Contract, acc: Accelerator) -> dict[str, Any]:
    return {
        "provider_id": contract.provider_id,
        "provider_city": contract.provider_city,
        "provider_related_parties": list(contract.provider_related_parties),
        "provider_parent_id": contract.provider_parent_id or "",
        "provider_beneficial_owners": list(contract.provider_beneficial_owners),
        **_accelerator_facts(acc),
        "accelerator_hours": float(contract.accelerator_hours),
        "amount_fen": contract.amount_fen,
        "currency": contract.currency,
        "start_on": contract.start_on.isoformat(),
        "term_days": contract.term_days,
    }


def purchase_facts(purchase: Purchase, acc: Accelerator) -> dict[str, Any]:
    return {
        **_accelerator_facts(acc),
        "count": purchase.count,
        "amount_fen": purchase.amount_fen,
        "currency": purchase.currency,
        "purchased_on": purchase.purchased_on.isoformat(),
        "seller_id": purchase.seller_id,
    }


# Facts with every field a rule may read, to try each rule once when a program is loaded.
_PROBE_TENANT = Tenant(
    "probe", "Probe", "Nowhere", date(2020, 1, 1), 1, 0, "CNY", "none", False, ("x",)
)


def probe(program: Program, accelerator: Accelerator) -> None:
    """Evaluate every rule once on complete sample facts: a rule that reads a fact that does
    not exist, or compares the wrong types, is refused when the program loads, naming it."""
    day = date(2025, 1, 1)
    second = "purchase" if program.kind == "purchase-subsidy" else "contract"
    sample = (
        purchase_facts(Purchase(accelerator.id, 1, 1, program.currency, day), accelerator)
        if second == "purchase"
        else contract_facts(
            Contract("p", accelerator.id, Fraction(1), 1, program.currency, day), accelerator
        )
    )
    facts = {"applicant": applicant_facts(_PROBE_TENANT, day), second: sample}
    for where, rules in (
        ("eligibility", program.eligibility),
        ("classes", tuple(c.when for c in program.classes)),
    ):
        for i, rule in enumerate(rules):
            try:
                rule.check(facts)
            except RuleEvaluationError as exc:
                raise ValidationError(f"{where}[{i}] ({rule.id})", str(exc)) from None
