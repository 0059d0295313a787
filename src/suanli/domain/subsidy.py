"""The subsidy a program pays on one compute contract (or one purchase), with its reasons.

``compute_subsidy`` is pure and does no I/O: the exchange calls it for every offer of a quote.
The result always explains itself: each check's verdict with its reason, then line by line the
rate chosen and why, each cap applied, and the stacking limit.

Order of limits: rate x amount, then the cap per entity (only the released tranches count),
then the face value, the budget left, and last the stacking limit (all subsidies on one cost
together never above ``stacking.max_total_rate``, 100 % at most).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from suanli.domain.catalog import Accelerator
from suanli.domain.money import apply_rate
from suanli.domain.parties import Parties, affiliation
from suanli.domain.programs import Program
from suanli.domain.registry import Tenant
from suanli.domain.subsidy_checks import (
    RELATED_PARTIES,
    Checks,
    check_amounts,
    check_inputs,
    choose_rate,
    common_checks,
    provider_checks,
    rule_checks,
    total_rate_limit,
)
from suanli.domain.subsidy_facts import (
    Contract,
    Purchase,
    SubsidyDecision,
    applicant_facts,
    contract_facts,
    money_text,
    percent,
    purchase_facts,
)
from suanli.errors import ValidationError

AWARD = frozenset({"award"})


def contract_rate(
    program: Program, tenant: Tenant, contract: Contract, accelerator: Accelerator
) -> Fraction:
    """The program's own rate for ``tenant`` on ``contract`` (by origin, or the best matching
    applicant class), judged on the contract's start as ``compute_subsidy`` does."""
    facts = {
        "applicant": applicant_facts(tenant, contract.start_on),
        "contract": contract_facts(contract, accelerator),
    }
    return choose_rate(program, accelerator, facts)[0]


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
                f"{what}: capped from {money_text(self.value, self.currency)} "
                f"to {money_text(limit, self.currency)}"
            )
            self.value = limit
        else:
            self.lines.append(f"{what}: {money_text(limit, self.currency)} — not reached")


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
            f"cap {money_text(program.cap_per_entity_fen, limits.currency)} per entity in {period}"
            f"{tranche}, {money_text(already_fen, limits.currency)} already paid",
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
        f"{money_text(other_fen, limits.currency)} from other programs",
    )


def _refused(program: Program, checks: Checks, amount: int, currency: str) -> SubsidyDecision:
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
    check_inputs(program, contract.amount_fen, contract.currency, "contract")
    check_amounts(already_subsidised_this_year_fen, other_subsidies_fen, contract.amount_fen)
    if contract.accelerator_hours < 0:
        raise ValidationError("contract.accelerator_hours", "must not be negative")
    day = on or contract.start_on
    facts = {
        "applicant": applicant_facts(tenant, day),
        "contract": contract_facts(contract, accelerator),
    }
    checks = Checks([])
    common_checks(program, checks, accelerator, day, other_subsidies_fen, other_programs, stacked)
    provider_checks(program, checks, tenant, contract)
    rule_checks(program, checks, facts)
    if not checks.ok:
        return _refused(program, checks, contract.amount_fen, contract.currency)
    rate, why = choose_rate(program, accelerator, facts)
    limits = _rated(rate, f"rate {why}", contract.amount_fen, contract.currency, own_on_cost_fen)
    released = program.released_share(milestones)
    used: int | None = None
    if program.credits is not None:
        used = _credit_limit(program, limits, contract, released, tier, credits_used)
    _closed(program, limits, released, already_subsidised_this_year_fen, budget_left_fen,
            other_subsidies_fen, stacked)  # fmt: skip
    return SubsidyDecision(
        program.id, True, rate, limits.value, contract.amount_fen, contract.currency,
        tuple(checks.verdicts), tuple(limits.lines), used,
    )  # fmt: skip


def paid_lines(
    program: Program, rate: Fraction, rate_line: str, amount_fen: int, currency: str
) -> tuple[str, ...]:
    """The lines ``compute_subsidy`` writes on an eligible contract of a program without
    credits, with nothing paid before, no other subsidy and the award released, from its rate
    and the rate's line (they depend only on the checks, not on the amount)."""
    if program.credits is not None:
        raise ValueError(f"{program.id} pays credits: its lines read the contract")
    limits = _rated(rate, rate_line, amount_fen, currency, 0)
    _closed(program, limits, program.released_share(AWARD), 0, None, 0, ())
    return tuple(limits.lines)


def _rated(
    rate: Fraction, rate_line: str, amount_fen: int, currency: str, own_on_cost_fen: int
) -> _Limits:
    limits = _Limits(amount_fen, currency, [rate_line])
    limits.value = apply_rate(amount_fen, rate)
    limits.lines.append(
        f"{percent(rate)} of {money_text(amount_fen, currency)} = "
        f"{money_text(limits.value, currency)}"
    )
    if own_on_cost_fen < 0:
        raise ValidationError("own_on_cost_fen", "must not be negative")
    if own_on_cost_fen:
        limits.cap(
            limits.value - own_on_cost_fen,
            f"{percent(rate)} of this cost in all, "
            f"{money_text(own_on_cost_fen, currency)} already on it from this program",
        )
    return limits


def _closed(
    program: Program, limits: _Limits, released: Fraction, already_fen: int,
    budget_left_fen: int | None, other_fen: int, stacked: Sequence[Program],
) -> None:  # fmt: skip
    _money_limits(program, limits, released, already_fen, budget_left_fen)
    _stacking_limit(program, limits, other_fen, stacked)
    limits.lines.append(f"subsidy: {money_text(limits.value, limits.currency)}")


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
    check_inputs(program, purchase.amount_fen, purchase.currency, "purchase")
    check_amounts(already_subsidised_this_year_fen, other_subsidies_fen, purchase.amount_fen)
    if purchase.count <= 0:
        raise ValidationError("purchase.count", "must be greater than 0")
    day = purchase.purchased_on
    facts = {
        "applicant": applicant_facts(applicant, day),
        "purchase": purchase_facts(purchase, accelerator),
    }
    checks = Checks([])
    common_checks(program, checks, accelerator, day, other_subsidies_fen, other_programs)
    if program.exclude_related_parties and purchase.seller_id:
        why = affiliation(applicant.parties, Parties(purchase.seller_id))
        relation = f"affiliated with the applicant ({why})" if why else "not related to it"
        checks.add(RELATED_PARTIES, not why, f"seller {purchase.seller_id} is {relation}")
    rule_checks(program, checks, facts)
    if not checks.ok:
        return _refused(program, checks, purchase.amount_fen, purchase.currency)
    rate, why = choose_rate(program, accelerator, facts)
    limits = _Limits(purchase.amount_fen, purchase.currency, [f"rate {why}"])
    limits.value = apply_rate(purchase.amount_fen, rate)
    limits.lines.append(
        f"{percent(rate)} of {money_text(purchase.amount_fen, purchase.currency)} "
        f"({purchase.count} x {accelerator.model}) = {money_text(limits.value, purchase.currency)}"
    )
    released = program.released_share(milestones)
    _money_limits(program, limits, released, already_subsidised_this_year_fen, budget_left_fen)
    _stacking_limit(program, limits, other_subsidies_fen)
    limits.lines.append(f"subsidy: {money_text(limits.value, purchase.currency)}")
    return SubsidyDecision(
        program.id, True, rate, limits.value, purchase.amount_fen, purchase.currency,
        tuple(checks.verdicts), tuple(limits.lines),
    )  # fmt: skip
