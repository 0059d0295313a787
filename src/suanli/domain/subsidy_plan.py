"""How a quote decides each voucher's program over many offers without running the whole
subsidy computation on each: eligibility and rate once per (program, provider, chip) where
that is exact, per distinct verdict of the rules that read an offer's amount or hours, and the
money limits per offer. Plain Python."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from suanli.domain.catalog import Accelerator
from suanli.domain.money import apply_rate
from suanli.domain.programs import Program, Rule, facts_read
from suanli.domain.registry import Offer, Provider, Site, Tenant
from suanli.domain.subsidy import AWARD, compute_subsidy, paid_lines
from suanli.domain.subsidy_checks import refuses_related
from suanli.domain.subsidy_facts import Contract, SubsidyDecision, applicant_facts, contract_facts
from suanli.errors import RuleEvaluationError
from suanli.rejection import Code


@dataclass(frozen=True, slots=True)
class OfferView:
    offer: Offer
    site: Site
    provider: Provider


@dataclass(frozen=True, slots=True)
class VoucherView:
    voucher_id: str
    program: Program
    account_id: str
    balance_fen: int
    currency: str


# Subsidy: the program's own rules, decided once per (program, provider, chip) where that is exact.

# Facts that differ between two offers of one provider and chip (a bare root: the whole contract).
_PER_OFFER_FACTS = frozenset({"contract", "contract.amount_fen", "contract.accelerator_hours"})
_SIZE_FACTS = frozenset({"contract.amount_fen", "contract.accelerator_hours"})


def per_offer_rules(program: Program) -> tuple[Rule, ...]:
    """The eligibility rules and class conditions whose verdict may change with an offer's
    amount or hours. Every other check reads only the tenant, the day, the provider and the chip."""
    rules = (*program.eligibility, *(c.when for c in program.classes))
    return tuple(r for r in rules if facts_read(r.check) & _PER_OFFER_FACTS)


@dataclass(frozen=True, slots=True)
class MoneyLimits:
    """The money limits of ``compute_subsidy`` on one contract with nothing paid yet, no other
    subsidy and the award tranche released, worked out once per program."""

    cap_fen: int | None
    face_value_fen: int | None
    stack_rate: Fraction

    @classmethod
    def of(cls, program: Program) -> MoneyLimits:
        cap = program.cap_per_entity_fen
        if cap is not None:
            cap = max(apply_rate(cap, program.released_share(AWARD)), 0)
        stack = min(program.stacking.max_total_rate, Fraction(1))
        return cls(cap, program.face_value_fen, stack)

    def apply(self, rate: Fraction, cost_fen: int) -> int:
        value = apply_rate(cost_fen, rate)
        if self.cap_fen is not None:
            value = min(value, self.cap_fen)
        if self.face_value_fen is not None:
            value = min(value, self.face_value_fen)
        return min(value, apply_rate(cost_fen, self.stack_rate))


def _limit(program: Program, rate: Fraction, cost_fen: int) -> int:
    """The money limits of ``compute_subsidy`` for one contract, without the explanation."""
    return MoneyLimits.of(program).apply(rate, cost_fen)


@dataclass(frozen=True, slots=True)
class _Plan:
    """How a quote decides one program over many offers without ``compute_subsidy`` on each."""

    per_offer: tuple[Rule, ...]  # evaluated on each offer's facts
    per_offer_ids: frozenset[str]  # the eligibility rules among them, unknown before sizing
    reads_hours: bool  # whether their verdicts may change with the hours
    reads_amount: bool  # ... or with the amount
    limits: MoneyLimits
    # Whether they read of the contract only its hours and amount: their verdicts are then the
    # same at every provider and chip for one (hours, amount).
    shared: bool = False


def _plan(program: Program) -> _Plan | None:
    if program.credits is not None:  # credits depend on hours at each provider: decided in full
        return None
    rules = per_offer_rules(program)
    ids = frozenset(r.id for r in program.eligibility if r in rules)
    reads = frozenset().union(*(facts_read(r.check) for r in rules))
    whole = "contract" in reads
    shared = all(f in _SIZE_FACTS or f.startswith("applicant") for f in reads)
    return _Plan(
        rules, ids, whole or "contract.accelerator_hours" in reads,
        whole or "contract.amount_fen" in reads, MoneyLimits.of(program), shared,
    )  # fmt: skip


def _passes(rule: Rule, facts: Mapping[str, Any]) -> bool:
    try:
        return rule.check(facts)
    except RuleEvaluationError:  # as in compute_subsidy: a rule that cannot be evaluated fails
        return False


@dataclass(slots=True)
class _Subsidies:
    """Subsidy decisions for one quote. With ``fast``, eligibility and rate are decided once per
    (program, provider, chip) and, for a program with per-offer rules, per distinct outcome of
    those rules: everything else ``compute_subsidy`` checks is the same for all such offers."""

    tenant: Tenant
    day: date
    fast: bool = True
    plans: dict[str, _Plan | None] = field(default_factory=dict)
    tables: dict[str, _Table] = field(default_factory=dict)
    memo: dict[tuple[Any, ...], SubsidyDecision] = field(default_factory=dict)
    verdict_memo: dict[tuple[Any, ...], tuple[bool, ...]] = field(default_factory=dict)
    applicant: dict[str, Any] | None = None
    providers: dict[int, tuple[Provider, tuple[Any, ...]]] = field(default_factory=dict)

    def provider_key(self, p: Provider) -> tuple[Any, ...]:
        """What a decision reads of a provider: its id, city and related parties. Kept per
        provider object (the object kept too, so its id is not reused): a quote asks it for
        each offer."""
        found = self.providers.get(id(p))
        if found is None or found[0] is not p:
            found = self.providers[id(p)] = (p, (p.id, p.city, p.parties))
        return found[1]

    def contract(self, view: OfferView, acc: Accelerator, hours: float, cost: int) -> Contract:
        return Contract(
            view.provider.id, acc.id, Fraction(round(hours * 1e6), 1_000_000), cost,
            view.offer.currency, self.day,
        ).at(view.provider)  # fmt: skip

    def plan(self, program: Program) -> _Plan | None:
        if program.id not in self.plans:
            self.plans[program.id] = _plan(program) if self.fast else None
        return self.plans[program.id]

    def table(self, program: Program) -> _Table:
        found = self.tables.get(program.id)
        if found is None:
            found = self.tables[program.id] = _table(program, self.tenant, self.day)
        return found

    def zero(
        self, program: Program, plan: _Plan, view: OfferView, acc: Accelerator
    ) -> tuple[SubsidyDecision, str]:
        """The decision on a zero contract at this provider and chip, and why the program pays
        nothing there whatever the offer's size ("" if it may pay)."""
        table = self.table(program)
        key = (*self.provider_key(view.provider), acc.id)
        found = table.get(key)
        if found is None:
            found = table[key] = _zero(program, plan, self.tenant, self.day, view.provider, acc)
        return found

    def blocked(self, v: VoucherView, view: OfferView, acc: Accelerator) -> str:
        """Why the voucher cannot pay on this offer whatever its size ("" if it may)."""
        if v.currency != view.offer.currency or v.program.currency != view.offer.currency:
            return f"{v.program.id}: pays in {v.program.currency}"
        plan = self.plan(v.program)
        assert plan is not None, "only planned programs are screened"
        return self.zero(v.program, plan, view, acc)[1]

    def decided(
        self, program: Program, plan: _Plan, view: OfferView, acc: Accelerator, hours: float,
        cost: int,
    ) -> SubsidyDecision:  # fmt: skip
        """Eligibility and rate for a planned program on one offer.

        The per-offer rules see the contract; of its facts only the hours and the amount differ
        between offers of one provider and chip, so their verdicts are memoised on those (the
        ones they read), and the decision on the verdicts."""
        if not plan.per_offer:
            return self.zero(program, plan, view, acc)[0]
        key = (program.id, *self.provider_key(view.provider), acc.id,
               round(hours * 1e6) if plan.reads_hours else None,
               cost if plan.reads_amount else None)  # fmt: skip
        d = self.memo.get(key)
        if d is None:
            table = self.table(program)
            verdicts = (*key[1:5], *self.verdicts(program, plan, view, acc, hours, cost))
            found = table.get(verdicts)
            if found is None:
                contract = self.contract(view, acc, hours, cost)
                found = table[verdicts] = (compute_subsidy(program, self.tenant, contract, acc), "")
            d = self.memo[key] = found[0]
        return d

    def verdicts(
        self, program: Program, plan: _Plan, view: OfferView, acc: Accelerator, hours: float,
        cost: int,
    ) -> tuple[bool, ...]:  # fmt: skip
        """The per-offer rules' verdicts on this contract; shared by every provider and chip
        where the rules read of the contract only its hours and amount."""
        key = None
        if plan.shared:
            key = (program.id, round(hours * 1e6) if plan.reads_hours else None,
                   cost if plan.reads_amount else None)  # fmt: skip
            found = self.verdict_memo.get(key)
            if found is not None:
                return found
        if self.applicant is None:
            self.applicant = applicant_facts(self.tenant, self.day)
        if plan.shared:  # the rules read of the contract only these two, as contract_facts has them
            contract_read = {"accelerator_hours": round(hours * 1e6) / 1e6, "amount_fen": cost}
        else:
            contract_read = contract_facts(self.contract(view, acc, hours, cost), acc)
        facts = {"applicant": self.applicant, "contract": contract_read}
        out = tuple(_passes(r, facts) for r in plan.per_offer)
        if key is not None:
            self.verdict_memo[key] = out
        return out

    def decide(
        self, program: Program, view: OfferView, acc: Accelerator, hours: float, cost: int
    ) -> tuple[bool, Fraction, int, SubsidyDecision | None]:
        """(eligible, rate, subsidy, the full decision when one was computed)."""
        plan = self.plan(program)
        if plan is None:
            d = compute_subsidy(program, self.tenant, self.contract(view, acc, hours, cost), acc)
            return d.eligible, d.rate, d.subsidy_fen, d
        d = self.decided(program, plan, view, acc, hours, cost)
        if not d.eligible:
            return False, Fraction(0), 0, d
        return True, d.rate, plan.limits.apply(d.rate, cost), None

    def explain(
        self, program: Program, view: OfferView, acc: Accelerator, hours: float, cost: int
    ) -> tuple[str, ...]:
        """``compute_subsidy``'s lines on this contract; for a planned program that pays
        here, from its kept decision (the rate's line) and the money limits on ``cost``."""
        plan = self.plan(program)
        if plan is not None:
            d = self.decided(program, plan, view, acc, hours, cost)
            if d.eligible:
                return paid_lines(program, d.rate, d.lines[0], cost, view.offer.currency)
        contract = self.contract(view, acc, hours, cost)
        return compute_subsidy(program, self.tenant, contract, acc).lines


# Zero-contract decisions, shared by quotes: the same tenant asking again the same day reuses
# them. One table per (program, tenant, day), keyed by what else the decision reads (provider id,
# city and related parties, chip); the program object is kept and compared, so a reloaded program
# file is decided afresh. A table holds at most one entry per provider and chip.
_Table = dict[tuple[Any, ...], tuple[SubsidyDecision, str]]
_TABLES: dict[tuple[str, Tenant, date], tuple[Program, _Table]] = {}
_TABLES_LIMIT = 4096


def _table(program: Program, tenant: Tenant, day: date) -> _Table:
    key = (program.id, tenant, day)
    found = _TABLES.get(key)
    if found is not None and found[0] is program:
        return found[1]
    if len(_TABLES) >= _TABLES_LIMIT:
        _TABLES.clear()
    table: _Table = {}
    _TABLES[key] = (program, table)
    return table


def _zero(
    program: Program, plan: _Plan, tenant: Tenant, day: date, provider: Provider, acc: Accelerator
) -> tuple[SubsidyDecision, str]:
    contract = Contract(provider.id, acc.id, Fraction(0), 0, program.currency, day).at(provider)
    decision = compute_subsidy(program, tenant, contract, acc)
    # The per-offer rules may fail on a zero contract; only the other checks bar every offer.
    failed = [v for v in decision.reasons if not v.passed and v.check not in plan.per_offer_ids]
    text = "; ".join(f"{v.check}: {v.reason}" for v in failed)
    return decision, f"{program.id}: {text}" if text else ""


def clear_rule_cache() -> None:
    _TABLES.clear()


# One contract at a time: what placement and a fallback attempt ask of a voucher's program.


def offer_decision(
    program: Program, tenant: Tenant, provider: Provider, acc: Accelerator, hours: float,
    amount_fen: int, day: date,
) -> SubsidyDecision:  # fmt: skip
    """``compute_subsidy`` on a contract for ``hours`` of ``acc`` at ``provider``."""
    contract = Contract(provider.id, acc.id, Fraction(round(hours * 1e6), 1_000_000), amount_fen,
                        program.currency, day).at(provider)  # fmt: skip
    return compute_subsidy(program, tenant, contract, acc)


def origin_rates(
    program: Program,
    tenant: Tenant,
    provider: Provider,
    hours: float,
    amount_fen: int,
    day: date,
    catalog: Iterable[Accelerator],
) -> dict[str, Fraction]:
    """The rate the program's own rules give ``tenant`` at ``provider`` on each accelerator
    origin: the lowest over the catalog's chips of that origin it accepts there (a class may
    depend on the chip), 0 where it accepts none."""
    out: dict[str, list[Fraction]] = {}
    for acc in catalog:
        d = offer_decision(program, tenant, provider, acc, hours, amount_fen, day)
        out.setdefault(acc.origin, [])
        if d.eligible:
            out[acc.origin].append(d.rate)
    return {origin: min(rates, default=Fraction(0)) for origin, rates in out.items()}


def refused_by_program(decision: SubsidyDecision | None) -> str:
    """The failed checks of a decision, one after another."""
    if decision is None:
        return "not eligible"
    failed = [f"{v.check}: {v.reason}" for v in decision.reasons if not v.passed]
    return "; ".join(failed) or "not eligible"


def unpaid_code(why: str) -> Code:
    """The code of an offer no voucher may pay on: RELATED_PARTY when a program refused the
    provider as the tenant's affiliate, else NOT_ACCREDITED."""
    return Code.RELATED_PARTY if refuses_related(why) else Code.NOT_ACCREDITED
