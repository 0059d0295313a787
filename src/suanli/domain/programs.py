"""Subsidy programs as data: the validated, immutable ``Program`` a program file becomes.

The files are parsed by ``domain.program_file`` (the format: ``data/programs/README.md``).
Eligibility rules are expressions in a safe expression language, compiled by a ``RuleCompiler``
the caller gives, so the domain stays free of any engine.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any, Literal

from suanli.domain.catalog import Origin
from suanli.errors import ValidationError

Kind = Literal["compute-voucher", "purchase-subsidy", "credit-allocation"]
KINDS: tuple[Kind, ...] = ("compute-voucher", "purchase-subsidy", "credit-allocation")
CapPeriod = Literal["calendar-year", "programme"]
CAP_PERIODS: tuple[CapPeriod, ...] = ("calendar-year", "programme")
CONFIDENCES = ("solid", "medium", "partial", "uncertain")
FORMAT_VERSION = 1


# A compiled rule: facts in, verdict out. Raises RuleEvaluationError when it cannot decide.
Predicate = Callable[[Mapping[str, Any]], bool]
# Compiles an expression; raises ValueError with a readable message when it does not compile.
RuleCompiler = Callable[[str], Predicate]


@dataclass(frozen=True, slots=True)
class RateSet:
    """Coverage rate by chip origin; ``None`` means that origin is not covered."""

    domestic: Fraction | None
    foreign: Fraction | None

    def for_origin(self, origin: Origin) -> Fraction | None:
        return self.domestic if origin == "domestic" else self.foreign


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    expr: str
    reason: str
    check: Predicate = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class ApplicantClass:
    """An applicant class with its own rates (e.g. start-ups); the best matching rate wins."""

    id: str
    when: Rule
    rates: RateSet


@dataclass(frozen=True, slots=True)
class Tranche:
    share: Fraction
    on: str  # the milestone that releases it: "award", "progress-report", ...


@dataclass(frozen=True, slots=True)
class Stacking:
    with_programs: tuple[str, ...]  # programs this one may be combined with on one cost
    max_total_rate: Fraction  # all subsidies on one cost together, this one included
    requires: tuple[str, ...] = ()  # programs this one pays only together with, on one cost


@dataclass(frozen=True, slots=True)
class Credits:
    """A credit allocation: tiers of credits, exchanged per provider for accelerator-hours."""

    unit: str
    tiers: Mapping[str, int]
    credits_per_accelerator_hour: Mapping[str, Fraction]  # provider id -> exchange rate


@dataclass(frozen=True, slots=True)
class Program:
    id: str
    name: str
    kind: Kind
    issuer: str
    jurisdiction: str
    currency: str
    version: str
    sources: tuple[str, ...]
    confidence: str
    valid_from: date | None
    valid_until: date | None
    voucher_valid_days: int | None
    budget_per_year_fen: int | None
    rates: RateSet
    classes: tuple[ApplicantClass, ...]
    cap_per_entity_fen: int | None
    cap_period: CapPeriod
    face_value_fen: int | None
    tranches: tuple[Tranche, ...]
    accredited_providers: tuple[str, ...] | None  # None: any provider
    exclude_related_parties: bool
    exclude_double_subsidy: bool
    stacking: Stacking
    eligibility: tuple[Rule, ...]
    credits: Credits | None
    parameters: Mapping[str, str]  # field -> why it is a parameter, not a published figure
    notes: str = ""
    # Its vouchers pay only for work on a filed generative-AI model (domain.filings).
    requires_model_filing: bool = False

    def released_share(self, milestones: frozenset[str]) -> Fraction:
        """The share of the entitlement released once the given milestones are reached."""
        return sum((t.share for t in self.tranches if t.on in milestones), Fraction(0))


def check_required_known(program: Program, known: Collection[str]) -> None:
    """Every program this one requires exists in the program set (checked when the whole set
    is loaded: one file alone cannot know its siblings)."""
    for i, other in enumerate(program.stacking.requires):
        if other not in known:
            raise ValidationError(f"stacking.requires[{i}]", f"unknown program {other!r}")


FACT_ROOTS = frozenset({"applicant", "contract", "purchase"})


def facts_read(check: Predicate) -> frozenset[str]:
    """What a rule's check reads: the compiled rule says so (``reads``); a predicate that does
    not may read anything, so every root."""
    reads = getattr(check, "reads", None)
    return reads if isinstance(reads, frozenset) else FACT_ROOTS
