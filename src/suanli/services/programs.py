"""Programs as files under ``data/programs/``: load, check, explain, and the subsidy on a contract.

A program's id is its file's stem. Files are parsed, their rules compiled and tried once, and
the result cached by modification time, so a quote over many offers does no I/O.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import date
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from suanli.domain.catalog import Accelerator
from suanli.domain.money import Money
from suanli.domain.program_file import parse_program
from suanli.domain.programs import Program, check_required_known
from suanli.domain.registry import Provider, Tenant
from suanli.domain.roles import Principal, Role
from suanli.domain.subsidy import AWARD, compute_purchase_subsidy, compute_subsidy, contract_rate
from suanli.domain.subsidy_facts import Contract, Purchase, SubsidyDecision, percent, probe
from suanli.errors import NotFoundError, PermissionDenied, ValidationError
from suanli.paths import data_dir
from suanli.services import registry
from suanli.services.catalog import load_catalog
from suanli.services.rules import compile_rule
from suanli.store.repositories import registry as repo
from suanli.store.uow import UnitOfWork


def programs_dir() -> Path:
    return Path(os.environ.get("SUANLI_PROGRAMS_DIR") or data_dir() / "programs")


def _probe_accelerator() -> Accelerator:
    return next(iter(load_catalog()))


def parse_program_file(path: Path) -> Program:
    """Parse, validate and compile one program file; errors name the file and the field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError(str(path), f"cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(path.name, f"not valid TOML: {exc}") from None
    try:
        program = parse_program(raw, path.stem, compile_rule)
        probe(program, _probe_accelerator())
    except ValidationError as exc:
        raise ValidationError(f"{path.name}: {exc.field}", exc.message) from None
    return program


def check_program_file(path: Path) -> Program:
    """One file, its required programs looked up beside it and among the installed ones."""
    program = parse_program_file(path)
    known = {p.stem for p in (*path.parent.glob("*.toml"), *programs_dir().glob("*.toml"))}
    _required_known(program, path.name, known)
    return program


def _required_known(program: Program, name: str, known: Collection[str]) -> None:
    try:
        check_required_known(program, known)
    except ValidationError as exc:
        raise ValidationError(f"{name}: {exc.field}", exc.message) from None


@lru_cache(maxsize=64)
def _cached(path: str, mtime_ns: int) -> Program:
    return parse_program_file(Path(path))


def load_programs(folder: Path | None = None) -> dict[str, Program]:
    folder = folder or programs_dir()
    paths = sorted(folder.glob("*.toml"))
    found = {p.stem: _cached(str(p), p.stat().st_mtime_ns) for p in paths}
    for path in paths:  # a program may require only programs of the same set
        _required_known(found[path.stem], path.name, found)
    return found


def get_program(program_id: str) -> Program:
    program = load_programs().get(program_id)
    if program is None:
        raise NotFoundError("program", program_id)
    return program


def _rates_words(program: Program) -> list[str]:
    r = program.rates
    if r.domestic == r.foreign and r.domestic is not None:
        words = [f"Pays {percent(r.domestic)} of the cost, whatever the accelerator's origin."]
    else:
        words = [
            f"Pays {percent(rate)} of the cost on {origin} accelerators."
            if rate is not None
            else f"Does not cover {origin} accelerators."
            for origin, rate in (("domestic", r.domestic), ("foreign", r.foreign))
        ]
    for cls in program.classes:
        rate = cls.rates.domestic if cls.rates.domestic is not None else cls.rates.foreign
        shown = percent(rate) if rate is not None else "no rate"
        words.append(f"Applicant class '{cls.id}' ({cls.when.reason}): {shown}.")
    return words


def _limits_words(program: Program) -> list[str]:
    cur = program.currency
    words = []
    if program.budget_per_year_fen is not None:
        words.append(f"Budget: {Money(program.budget_per_year_fen, cur)} a year.")
    if program.cap_per_entity_fen is not None:
        period = "calendar year" if program.cap_period == "calendar-year" else "programme"
        words.append(f"Cap: {Money(program.cap_per_entity_fen, cur)} per entity per {period}.")
    if program.face_value_fen is not None:
        words.append(f"Voucher face value: {Money(program.face_value_fen, cur)}.")
    if len(program.tranches) > 1:
        parts = [f"{percent(t.share)} on {t.on}" for t in program.tranches]
        words.append("Released in tranches: " + ", ".join(parts) + ".")
    if program.credits is not None:
        c = program.credits
        tiers = ", ".join(f"{name} {n:,}" for name, n in c.tiers.items())
        rates = ", ".join(f"{p} {r}" for p, r in c.credits_per_accelerator_hour.items())
        words.append(f"{c.unit} by tier: {tiers}; per accelerator-hour: {rates}.")
    total = percent(program.stacking.max_total_rate)
    others = program.stacking.with_programs
    stack = f"Stacks with {', '.join(others)}; all" if others else "All"
    words.append(f"{stack} subsidies on one cost together at most {total}.")
    if program.stacking.requires:
        words.append(
            f"Pays only together with {', '.join(program.stacking.requires)}: a cost without "
            "a subsidy (an application, pending or approved) from it gets nothing."
        )
    return words


def explain(program: Program) -> list[str]:
    """The program in words, one sentence a line."""
    when = " to ".join(str(d) for d in (program.valid_from, program.valid_until) if d) or "open"
    words = [
        f"{program.name} [{program.id}], a {program.kind} by {program.issuer} "
        f"({program.jurisdiction}), in {program.currency}. Valid: {when}.",
        *_rates_words(program),
        *_limits_words(program),
    ]
    if program.accredited_providers is not None:
        words.append(f"Accredited providers: {', '.join(program.accredited_providers)}.")
    if program.exclude_related_parties:
        words.append("Excludes compute from related parties of the applicant.")
    if program.exclude_double_subsidy:
        words.append("Excludes costs that already carry another subsidy (no double subsidy).")
    words += [f"Rule '{r.id}': {r.reason} [{r.expr}]." for r in program.eligibility]
    words += [f"Parameter {k}: {v}." for k, v in program.parameters.items()]
    words += [f"Source: {s}" for s in program.sources]
    return words


def resolve_contract(uow: UnitOfWork | None, contract: Contract) -> tuple[Contract, Accelerator]:
    """Canonical accelerator from the catalog; provider city and related parties from the
    registry when a unit of work is given."""
    acc = load_catalog().find(contract.accelerator_id)
    if acc is None:
        raise ValidationError(
            "contract.accelerator_id", f"unknown accelerator model {contract.accelerator_id!r}"
        )
    if uow is not None:
        provider = repo.get(uow.conn, Provider, contract.provider_id)
        if provider is None:
            raise ValidationError(
                "contract.provider_id", f"unknown provider {contract.provider_id!r}"
            )
        contract = replace(contract, accelerator_id=acc.id).at(provider)
    return contract, acc


def rate_for_contract(
    uow: UnitOfWork, program_id: str, tenant: Tenant, contract: Contract
) -> Fraction:
    """The program's own rate on a contract (see ``contract_rate``)."""
    resolved, acc = resolve_contract(uow, contract)
    return contract_rate(get_program(program_id), tenant, resolved, acc)


def subsidy_for_contract(
    uow: UnitOfWork | None,
    program_id: str,
    tenant: Tenant,
    contract: Contract,
    *,
    already_subsidised_this_year_fen: int = 0,
    other_subsidies_fen: int = 0,
    other_programs: Sequence[str] = (),
    on: date | None = None,
    milestones: frozenset[str] = AWARD,
    tier: str | None = None,
    stacked: Sequence[Program] = (),
    own_on_cost_fen: int = 0,
) -> SubsidyDecision:
    program = get_program(program_id)
    tenant.validate()
    contract, acc = resolve_contract(uow, contract)
    return compute_subsidy(
        program, tenant, contract, acc,
        already_subsidised_this_year_fen=already_subsidised_this_year_fen,
        other_subsidies_fen=other_subsidies_fen, other_programs=other_programs,
        on=on, milestones=milestones, tier=tier, stacked=stacked,
        own_on_cost_fen=own_on_cost_fen,
    )  # fmt: skip


def subsidy_for_purchase(
    program_id: str,
    applicant: Tenant,
    purchase: Purchase,
    *,
    already_subsidised_this_year_fen: int = 0,
) -> SubsidyDecision:
    program = get_program(program_id)
    acc = load_catalog().find(purchase.accelerator_id)
    if acc is None:
        raise ValidationError(
            "purchase.accelerator_id", f"unknown accelerator model {purchase.accelerator_id!r}"
        )
    return compute_purchase_subsidy(
        program, applicant, purchase, acc,
        already_subsidised_this_year_fen=already_subsidised_this_year_fen,
    )  # fmt: skip


def decide_subsidy(
    uow: UnitOfWork | None,
    who: Principal,
    *,
    program_id: str,
    contract: Contract,
    tenant_id: str | None,
    tenant: Tenant | None,
    already_subsidised_this_year_fen: int = 0,
    other_subsidies_fen: int = 0,
    other_programs: Sequence[str] = (),
    milestones: frozenset[str] = frozenset({"award"}),
    tier: str | None = None,
) -> SubsidyDecision:
    """What a program pays a tenant on one contract: the tenant by id from the registry (read
    rights apply; needs a database) or by its facts inline (a tenant asks only of itself)."""
    if (tenant_id is None) == (tenant is None):
        raise ValidationError("tenant_id", "give either tenant_id or tenant")
    if tenant_id is not None:
        if uow is None:
            raise ValidationError("tenant_id", "needs a database; give the tenant's facts inline")
        tenant = registry.get(uow, who, Tenant, tenant_id)
    assert tenant is not None
    if who.role == Role.TENANT and tenant.id != who.org_id:
        raise PermissionDenied("a tenant may only ask about itself")
    return subsidy_for_contract(
        uow, program_id, tenant, contract,
        already_subsidised_this_year_fen=already_subsidised_this_year_fen,
        other_subsidies_fen=other_subsidies_fen, other_programs=other_programs,
        milestones=milestones, tier=tier,
    )  # fmt: skip
