"""The checks a program makes before it pays: the inputs, its validity and the chip's origin,
stacking with other programs on one cost, the provider's accreditation and relation to the
applicant, and the program's own eligibility rules; and the rate it then pays.

Each check adds a ``Verdict`` with its reason, so a refusal explains itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from suanli.domain.catalog import Accelerator
from suanli.domain.parties import affiliation
from suanli.domain.programs import Program, Rule
from suanli.domain.registry import Provider, Tenant
from suanli.domain.subsidy_facts import Contract, Verdict, percent
from suanli.errors import RuleEvaluationError, ValidationError

# The check that refuses a provider affiliated with the applicant (see domain.parties).
RELATED_PARTIES = "related-parties"


def _evaluate(rule: Rule, facts: Mapping[str, Any]) -> tuple[bool, str]:
    try:
        return rule.check(facts), ""
    except RuleEvaluationError as exc:  # a fact the rule needs is missing: not eligible
        return False, f" (could not be evaluated: {exc})"


@dataclass(slots=True)
class Checks:
    verdicts: list[Verdict]

    def add(self, check: str, passed: bool, reason: str) -> None:
        self.verdicts.append(Verdict(check, passed, reason))

    @property
    def ok(self) -> bool:
        return all(v.passed for v in self.verdicts)


def check_inputs(program: Program, amount_fen: int, currency: str, where: str) -> None:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValidationError(f"{where}.amount_fen", "must be a whole number of fen")
    if amount_fen < 0:
        raise ValidationError(f"{where}.amount_fen", "must not be negative")
    if currency != program.currency:
        raise ValidationError(
            f"{where}.currency", f"program {program.id} pays in {program.currency}, not {currency}"
        )


def check_amounts(already_fen: int, other_fen: int, amount_fen: int) -> None:
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


def common_checks(
    program: Program,
    checks: Checks,
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


def _requires_check(program: Program, checks: Checks, other_programs: Sequence[str]) -> None:
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


def rule_checks(program: Program, checks: Checks, facts: Mapping[str, Any]) -> None:
    for rule in program.eligibility:
        passed, note = _evaluate(rule, facts)
        checks.add(rule.id, passed, rule.reason + note)


def choose_rate(
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


def provider_checks(program: Program, checks: Checks, tenant: Tenant, contract: Contract) -> None:
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
    checks = Checks([])
    contract = Contract(provider.id, "", Fraction(0), 0, program.currency, date.min).at(provider)
    provider_checks(program, checks, tenant, contract)
    return tuple(f"{v.check}: {v.reason}" for v in checks.verdicts if not v.passed)


def refuses_related(reasons: str) -> bool:
    """Whether refusal text written from failed checks (``check: reason``) includes the
    related-parties check."""
    return f"{RELATED_PARTIES}: " in reasons
