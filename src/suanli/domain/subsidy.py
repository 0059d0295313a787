"""The subsidy a program pays on one compute contract (or one purchase), with its reasons.

``compute_subsidy`` is pure and does no I/O: the exchange calls it for every offer of a quote.
The result always explains itself: each check's verdict with its reason, then line by line the
rate chosen and why, each cap applied, and the stacking limit.

Order of limits: rate x amount, then the cap per entity (only the released tranches count),
then the face value, the budget left, and last the stacking limit (all subsidies on one cost
together never above ``stacking.max_total_rate``, 100 % at most).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from typing import Any

from suanli.domain.catalog import Accelerator
from suanli.domain.money import Money, apply_rate
from suanli.domain.parties import Parties, affiliation
from suanli.domain.programs import Program, Rule
from suanli.domain.registry import Provider, Tenant
from suanli.errors import RuleEvaluationError, ValidationError

AWARD = frozenset({"award"})
# The check that refuses a provider affiliated with the applicant (see domain.parties).
RELATED_PARTIES = "related-parties"


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


def percent(rate: Fraction) -> str:
    value = rate * 100
    return (
        f"{value.numerator // value.denominator} %"
        if value.denominator == 1
        else f"{float(value):.4g} %"
    )


def _money(amount_fen: int, currency: str) -> str:
    return str(Money(amount_fen, currency))


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


def _evaluate(rule: Rule, facts: Mapping[str, Any]) -> tuple[bool, str]:
    try:
        return rule.check(facts), ""
    except RuleEvaluationError as exc:  # a fact the rule needs is missing: not eligible
        return False, f" (could not be evaluated: {exc})"


@dataclass(slots=True)
class _Checks:
    verdicts: list[Verdict]

    def add(self, check: str, passed: bool, reason: str) -> None:
        self.verdicts.append(Verdict(check, passed, reason))

    @property
    def ok(self) -> bool:
        return all(v.passed for v in self.verdicts)


def _check_inputs(program: Program, amount_fen: int, currency: str, where: str) -> None:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValidationError(f"{where}.amount_fen", "must be a whole number of fen")
    if amount_fen < 0:
        raise ValidationError(f"{where}.amount_fen", "must not be negative")
    if currency != program.currency:
        raise ValidationError(
            f"{where}.currency", f"program {program.id} pays in {program.currency}, not {currency}"
        )


def _check_amounts(already_fen: int, other_fen: int, amount_fen: int) -> None:
    if already_fen < 0:
        raise ValidationError("already_subsidised_this_year_fen", "must not be negative")
    if other_fen < 0:
        raise ValidationError("other_subsidies_fen", "must not be negative")
    if other_fen > amount_fen:
        raise ValidationError("other_subsidies_fen", "must not exceed the contract amount")


def allows(program: Program, other_id: str) -> bool:
    """Whether ``program`` lets ``other_id``'s subsidy sit on the same cost: a program that
    names its partners stacks only with them; one that excludes double subsidy with no one."""
    if other_id == program.id:  # a program may pay twice on a cost, within its own rate
        return True
    if other_id in program.stacking.with_programs:
        return True
    return not program.exclude_double_subsidy and not program.stacking.with_programs


def stacking_conflicts(program: Program, others: Sequence[Program]) -> list[str]:
    """Why ``program`` may not pay on a cost the ``others`` pay on too; empty when it may.
    Both sides' rules bind: an earlier program's exclusion holds against later ones."""
    out = []
    for other in others:
        if not allows(program, other.id):
            out.append(f"{program.id} does not stack with {other.id}")
        elif not allows(other, program.id):
            out.append(f"{other.id} does not stack with {program.id}")
    return out


def total_rate_limit(program: Program, others: Sequence[Program]) -> Fraction:
    """All subsidies on one cost together: at most 100 % and at most every stacked program's
    own ``max_total_rate`` (the strictest one binds)."""
    limits = [program.stacking.max_total_rate, *(o.stacking.max_total_rate for o in others)]
    return min([Fraction(1), *limits])


def _common_checks(
    program: Program,
    checks: _Checks,
    acc: Accelerator,
    on: date,
    other_fen: int,
    other_programs: Sequence[str],
    stacked: Sequence[Program] = (),
) -> None:
    if program.valid_from and on < program.valid_from:
        checks.add("validity", False, f"{on} is before the program opens ({program.valid_from})")
    elif program.valid_until and on > program.valid_until:
        checks.add("validity", False, f"{on} is after the program closes ({program.valid_until})")
    else:
        checks.add("validity", True, f"{on} is within the program's validity")
    covered = program.rates.for_origin(acc.origin) is not None or any(
        c.rates.for_origin(acc.origin) is not None for c in program.classes
    )
    checks.add(
        "origin",
        covered,
        f"{acc.vendor} {acc.model} is {acc.origin}; the program "
        + ("covers" if covered else "does not cover")
        + f" {acc.origin} accelerators",
    )
    if other_fen > 0 and program.exclude_double_subsidy:
        allowed = bool(other_programs) and set(other_programs) <= set(
            program.stacking.with_programs
        )
        checks.add(
            "double-subsidy",
            allowed,
            "other subsidies on this cost come from programs it stacks with"
            if allowed
            else "no double subsidy: this cost already has another subsidy",
        )
    elif other_fen > 0 and other_programs and program.stacking.with_programs:
        stray = sorted(set(other_programs) - set(program.stacking.with_programs))
        checks.add(
            "stacking",
            not stray,
            f"stacks with {', '.join(program.stacking.with_programs)}"
            + (f"; not with {', '.join(stray)}" if stray else ""),
        )
    conflicts = stacking_conflicts(program, stacked)
    if other_fen > 0 and conflicts:
        checks.add("stacked-programs", False, "; ".join(conflicts))
    _requires_check(program, checks, other_programs)


def _requires_check(program: Program, checks: _Checks, other_programs: Sequence[str]) -> None:
    """A top-up pays only on a cost that a program it requires subsidises too."""
    required = program.stacking.requires
    if not required:
        return
    missing = [p for p in required if p not in other_programs]
    checks.add(
        "requires",
        not missing,
        f"pays only together with {', '.join(required)}: "
        + (f"no subsidy from {', '.join(missing)} on this cost" if missing else "present"),
    )


def _rule_checks(program: Program, checks: _Checks, facts: Mapping[str, Any]) -> None:
    for rule in program.eligibility:
        passed, note = _evaluate(rule, facts)
        checks.add(rule.id, passed, rule.reason + note)


def _choose_rate(
    program: Program, acc: Accelerator, facts: Mapping[str, Any]
) -> tuple[Fraction, str]:
    rate = program.rates.for_origin(acc.origin)
    why = f"{percent(rate)}: base rate for {acc.origin} accelerators" if rate is not None else ""
    best = rate if rate is not None else Fraction(-1)
    for cls in program.classes:
        cls_rate = cls.rates.for_origin(acc.origin)
        if cls_rate is None or cls_rate <= best:
            continue
        if _evaluate(cls.when, facts)[0]:
            best = cls_rate
            why = f"{percent(cls_rate)}: applicant class '{cls.id}' — {cls.when.reason}"
    return max(best, Fraction(0)), why


def contract_rate(
    program: Program, tenant: Tenant, contract: Contract, accelerator: Accelerator
) -> Fraction:
    """The program's own rate for ``tenant`` on ``contract`` (by origin, or the best matching
    applicant class), judged on the contract's start as ``compute_subsidy`` does."""
    facts = {
        "applicant": applicant_facts(tenant, contract.start_on),
        "contract": contract_facts(contract, accelerator),
    }
    return _choose_rate(program, accelerator, facts)[0]


@dataclass(slots=True)
class _Limits:
    """Apply limits in order, writing one explanation line per limit that bites."""

    amount: int
    currency: str
    lines: list[str]
    value: int = 0

    def cap(self, limit: int, what: str) -> None:
        limit = max(limit, 0)
        if self.value > limit:
            self.lines.append(
                f"{what}: capped from {_money(self.value, self.currency)} "
                f"to {_money(limit, self.currency)}"
            )
            self.value = limit
        else:
            self.lines.append(f"{what}: {_money(limit, self.currency)} — not reached")


def _money_limits(
    program: Program,
    limits: _Limits,
    released: Fraction,
    already_fen: int,
    budget_left_fen: int | None,
) -> None:
    if program.cap_per_entity_fen is not None:
        period = "a calendar year" if program.cap_period == "calendar-year" else "the programme"
        open_fen = apply_rate(program.cap_per_entity_fen, released)
        tranche = "" if released == 1 else f" ({percent(released)} released so far)"
        limits.cap(
            open_fen - already_fen,
            f"cap {_money(program.cap_per_entity_fen, limits.currency)} per entity in {period}"
            f"{tranche}, {_money(already_fen, limits.currency)} already paid",
        )
    if program.face_value_fen is not None:
        limits.cap(program.face_value_fen, "voucher face value")
    if budget_left_fen is not None:
        limits.cap(budget_left_fen, "program budget left")


def _stacking_limit(
    program: Program, limits: _Limits, other_fen: int, stacked: Sequence[Program] = ()
) -> None:
    total = total_rate_limit(program, stacked)
    limits.cap(
        apply_rate(limits.amount, total) - other_fen,
        f"stacking: all subsidies on this cost at most {percent(total)}, "
        f"{_money(other_fen, limits.currency)} from other programs",
    )


def _refused(program: Program, checks: _Checks, amount: int, currency: str) -> SubsidyDecision:
    failed = [v for v in checks.verdicts if not v.passed]
    lines = tuple(f"not eligible: {v.check} — {v.reason}" for v in failed)
    return SubsidyDecision(
        program.id, False, Fraction(0), 0, amount, currency, tuple(checks.verdicts), lines
    )


def compute_subsidy(
    program: Program,
    tenant: Tenant,
    contract: Contract,
    accelerator: Accelerator,
    *,
    already_subsidised_this_year_fen: int = 0,
    other_subsidies_fen: int = 0,
    other_programs: Sequence[str] = (),
    on: date | None = None,
    milestones: frozenset[str] = AWARD,
    budget_left_fen: int | None = None,
    tier: str | None = None,
    credits_used: int = 0,
    stacked: Sequence[Program] = (),
    own_on_cost_fen: int = 0,
) -> SubsidyDecision:
    """The subsidy ``program`` pays ``tenant`` on ``contract``; business refusals are results.

    ``stacked``: the other programs whose subsidies make up ``other_subsidies_fen``, when
    known; their own exclusions and total-rate limits then bind this program too.
    ``own_on_cost_fen``: what this program already pays on this same cost; together they stay
    within its own rate. ``other_programs``: the programs on this cost, by id; a program that
    ``requires`` others pays only when they are among them."""
    other_programs = other_programs or [p.id for p in stacked]
    if program.kind == "purchase-subsidy":
        raise ValidationError("program", f"{program.id} subsidises purchases, not contracts")
    _check_inputs(program, contract.amount_fen, contract.currency, "contract")
    _check_amounts(already_subsidised_this_year_fen, other_subsidies_fen, contract.amount_fen)
    if contract.accelerator_hours < 0:
        raise ValidationError("contract.accelerator_hours", "must not be negative")
    day = on or contract.start_on
    facts = {
        "applicant": applicant_facts(tenant, day),
        "contract": contract_facts(contract, accelerator),
    }
    checks = _Checks([])
    _common_checks(program, checks, accelerator, day, other_subsidies_fen, other_programs, stacked)
    _provider_checks(program, checks, tenant, contract)
    _rule_checks(program, checks, facts)
    if not checks.ok:
        return _refused(program, checks, contract.amount_fen, contract.currency)
    rate, why = _choose_rate(program, accelerator, facts)
    limits = _Limits(contract.amount_fen, contract.currency, [f"rate {why}"])
    limits.value = apply_rate(contract.amount_fen, rate)
    limits.lines.append(
        f"{percent(rate)} of {_money(contract.amount_fen, contract.currency)} = "
        f"{_money(limits.value, contract.currency)}"
    )
    if own_on_cost_fen < 0:
        raise ValidationError("own_on_cost_fen", "must not be negative")
    if own_on_cost_fen:
        limits.cap(
            limits.value - own_on_cost_fen,
            f"{percent(rate)} of this cost in all, "
            f"{_money(own_on_cost_fen, contract.currency)} already on it from this program",
        )
    released = program.released_share(milestones)
    used: int | None = None
    if program.credits is not None:
        used = _credit_limit(program, limits, contract, released, tier, credits_used)
    _money_limits(program, limits, released, already_subsidised_this_year_fen, budget_left_fen)
    _stacking_limit(program, limits, other_subsidies_fen, stacked)
    limits.lines.append(f"subsidy: {_money(limits.value, contract.currency)}")
    return SubsidyDecision(
        program.id, True, rate, limits.value, contract.amount_fen, contract.currency,
        tuple(checks.verdicts), tuple(limits.lines), used,
    )  # fmt: skip


def _provider_checks(program: Program, checks: _Checks, tenant: Tenant, contract: Contract) -> None:
    providers = program.accredited_providers
    if program.credits is not None:
        providers = tuple(program.credits.credits_per_accelerator_hour)
    if providers is not None:
        ok = contract.provider_id in providers
        checks.add(
            "accredited-provider",
            ok,
            f"provider {contract.provider_id} is "
            + ("" if ok else "not ")
            + "accredited by the program",
        )
    if program.exclude_related_parties:
        # The program forbids affiliated suppliers: parent, shared parent or owner, or declared.
        why = affiliation(tenant.parties, contract.provider_parties)
        checks.add(
            RELATED_PARTIES,
            not why,
            f"provider {contract.provider_id} is affiliated with the applicant ({why})"
            if why
            else f"provider {contract.provider_id} is not related to the applicant",
        )


def provider_refusals(program: Program, tenant: Tenant, provider: Provider) -> tuple[str, ...]:
    """Why the program's money may not go to this provider (accreditation, related parties);
    empty when it may. The same checks a contract there is decided by."""
    checks = _Checks([])
    contract = Contract(provider.id, "", Fraction(0), 0, program.currency, date.min).at(provider)
    _provider_checks(program, checks, tenant, contract)
    return tuple(f"{v.check}: {v.reason}" for v in checks.verdicts if not v.passed)


def refuses_related(reasons: str) -> bool:
    """Whether refusal text written from failed checks (``check: reason``) includes the
    related-parties check."""
    return f"{RELATED_PARTIES}: " in reasons


def _credit_limit(
    program: Program,
    limits: _Limits,
    contract: Contract,
    released: Fraction,
    tier: str | None,
    credits_used: int,
) -> int:
    """Credits pay the cost in full while they last; returns the credits this contract uses."""
    credits = program.credits
    assert credits is not None
    tier = tier or next(iter(credits.tiers))
    if tier not in credits.tiers:
        raise ValidationError("tier", f"unknown tier {tier!r}; known: {', '.join(credits.tiers)}")
    if credits_used < 0:
        raise ValidationError("credits_used", "must not be negative")
    per_hour = credits.credits_per_accelerator_hour[contract.provider_id]
    needed = contract.accelerator_hours * per_hour
    needed_whole = needed.numerator // needed.denominator + (needed.denominator != 1)
    available = max(apply_rate(credits.tiers[tier], released) - credits_used, 0)
    limits.lines.append(
        f"credits: tier {tier} = {credits.tiers[tier]:,} {credits.unit}, {percent(released)} "
        f"released, {credits_used:,} used → {available:,} available; this contract needs "
        f"{needed_whole:,} ({per_hour} per accelerator-hour at {contract.provider_id})"
    )
    if needed_whole <= available:
        return needed_whole
    covered = Fraction(available, needed_whole)
    limits.cap(apply_rate(limits.amount, covered), f"credits cover {percent(covered)} of the hours")
    return available


def compute_purchase_subsidy(
    program: Program,
    applicant: Tenant,
    purchase: Purchase,
    accelerator: Accelerator,
    *,
    already_subsidised_this_year_fen: int = 0,
    other_subsidies_fen: int = 0,
    other_programs: Sequence[str] = (),
    milestones: frozenset[str] = AWARD,
    budget_left_fen: int | None = None,
) -> SubsidyDecision:
    """The capex subsidy on a purchase of accelerators (e.g. domestic GPUs only)."""
    if program.kind != "purchase-subsidy":
        raise ValidationError(
            "program", f"{program.id} is a {program.kind}, not a purchase subsidy"
        )
    _check_inputs(program, purchase.amount_fen, purchase.currency, "purchase")
    _check_amounts(already_subsidised_this_year_fen, other_subsidies_fen, purchase.amount_fen)
    if purchase.count <= 0:
        raise ValidationError("purchase.count", "must be greater than 0")
    day = purchase.purchased_on
    facts = {
        "applicant": applicant_facts(applicant, day),
        "purchase": purchase_facts(purchase, accelerator),
    }
    checks = _Checks([])
    _common_checks(program, checks, accelerator, day, other_subsidies_fen, other_programs)
    if program.exclude_related_parties and purchase.seller_id:
        why = affiliation(applicant.parties, Parties(purchase.seller_id))
        relation = f"affiliated with the applicant ({why})" if why else "not related to it"
        checks.add(RELATED_PARTIES, not why, f"seller {purchase.seller_id} is {relation}")
    _rule_checks(program, checks, facts)
    if not checks.ok:
        return _refused(program, checks, purchase.amount_fen, purchase.currency)
    rate, why = _choose_rate(program, accelerator, facts)
    limits = _Limits(purchase.amount_fen, purchase.currency, [f"rate {why}"])
    limits.value = apply_rate(purchase.amount_fen, rate)
    limits.lines.append(
        f"{percent(rate)} of {_money(purchase.amount_fen, purchase.currency)} "
        f"({purchase.count} x {accelerator.model}) = {_money(limits.value, purchase.currency)}"
    )
    released = program.released_share(milestones)
    _money_limits(program, limits, released, already_subsidised_this_year_fen, budget_left_fen)
    _stacking_limit(program, limits, other_subsidies_fen)
    limits.lines.append(f"subsidy: {_money(limits.value, purchase.currency)}")
    return SubsidyDecision(
        program.id, True, rate, limits.value, purchase.amount_fen, purchase.currency,
        tuple(checks.verdicts), tuple(limits.lines),
    )  # fmt: skip


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
