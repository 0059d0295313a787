"""Quotes: every live offer priced for one job request, or refused with the reason.

For each offer: the estimator's hours (p10/p90), cost and energy at the site's PUE; the subsidy
each of the tenant's vouchers would pay under its program's own rules (``compute_subsidy``),
never above what is left on the voucher; the net cost (a run is paid by one voucher, the one
that pays most, and the wallet); and the earliest start in the offer's capacity calendar.
Rows are sorted by the request's objective. Reads only.

Speed: ``compute_subsidy`` builds facts and explanation lines, tens of microseconds an offer.
For a program that pays no credits, eligibility and rate depend only on (provider, chip) and on
the verdicts of the rules that read an offer's amount or hours (``per_offer_rules``, from what
each compiled rule says it reads), so they are decided once per such key and the money limits
applied per offer (``MoneyLimits``). What the request and the vouchers say of a (provider, chip)
is decided once too (``_Gate``), so the many offers refused outright cost a dict lookup each;
lines are written only for the top rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import partial
from typing import Any

from suanli.domain.catalog import Accelerator
from suanli.domain.exchange import (
    MIN_DURATION_S,
    Busy,
    JobRequest,
    Refusal,
    earliest_start,
)
from suanli.domain.money import Money, apply_rate
from suanli.domain.programs import Program, Rule, RuleEvaluationError
from suanli.domain.registry import Offer, Provider, Site, Tenant
from suanli.domain.roles import Principal
from suanli.domain.subsidy import (
    AWARD,
    Contract,
    SubsidyDecision,
    applicant_facts,
    compute_subsidy,
    contract_facts,
)
from suanli.errors import ValidationError
from suanli.estimate.api import Estimate, Infeasible, estimate_checked, fixed_size
from suanli.estimate.mfu import MfuModel
from suanli.services import ledger
from suanli.services.applications import usable_voucher
from suanli.services.capacity import busy_by_offer
from suanli.services.catalog import load_catalog
from suanli.services.common import acting_for, registered_tenant
from suanli.services.estimates import default_model
from suanli.services.programs import get_program
from suanli.services.rules import facts_read
from suanli.store.repositories import registry as repo
from suanli.store.uow import UnitOfWork

EXPLAIN_TOP = 5  # rows that carry the subsidy's full explanation
_ESTIMATE_CODES = {
    "precision_unsupported": "precision",
    "too_large": "memory",
    "count_too_small": "memory",
    "rate": "capacity",
    "missing_figures": "catalog",
}


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


@dataclass(slots=True)
class QuoteRow:
    offer_id: str
    site_id: str
    provider_id: str
    accelerator_id: str
    origin: str
    count: int
    accelerator_hours: float
    accelerator_hours_p10: float
    accelerator_hours_p90: float
    wall_hours: float
    duration_s: int  # reserved and the run's time limit: the p90 wall time
    cost_fen: int
    currency: str
    subsidies: dict[str, int]  # voucher id -> what it would pay
    voucher_id: str | None  # the voucher that pays (most)
    program_id: str | None
    rate: Fraction  # that voucher's program's rate here
    subsidy_fen: int
    net_fen: int
    energy_kwh: float | None
    start: datetime
    finish: datetime
    price_fen_per_accel_hour: int
    notes: tuple[str, ...] = ()
    # Writes the subsidy's explanation (top rows only): lines cost more than the rest of a row,
    # so they are written when first read, not for rows nobody looks at.
    explain: Callable[[], tuple[str, ...]] | None = field(default=None, repr=False, compare=False)
    _lines: tuple[str, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def subsidy_lines(self) -> tuple[str, ...]:
        """The paying voucher's subsidy explained line by line (top rows; empty for others)."""
        if self._lines is None:
            self._lines = self.explain() if self.explain is not None else ()
        return self._lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "offer_id": self.offer_id,
            "site_id": self.site_id,
            "provider_id": self.provider_id,
            "accelerator_id": self.accelerator_id,
            "origin": self.origin,
            "count": self.count,
            "accelerator_hours": self.accelerator_hours,
            "accelerator_hours_p10": self.accelerator_hours_p10,
            "accelerator_hours_p90": self.accelerator_hours_p90,
            "wall_hours": self.wall_hours,
            "duration_s": self.duration_s,
            "cost_fen": self.cost_fen,
            "currency": self.currency,
            "subsidies": dict(self.subsidies),
            "voucher_id": self.voucher_id,
            "program_id": self.program_id,
            "rate": str(self.rate),
            "subsidy_fen": self.subsidy_fen,
            "net_fen": self.net_fen,
            "energy_kwh": self.energy_kwh,
            "start": self.start.isoformat(),
            "finish": self.finish.isoformat(),
            "price_fen_per_accel_hour": self.price_fen_per_accel_hour,
            "subsidy_lines": list(self.subsidy_lines),
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class Quote:
    request_id: str
    objective: str
    rows: list[QuoteRow]
    refused: list[Refusal] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "objective": self.objective,
            "feasible": [r.to_dict() for r in self.rows],
            "infeasible": [r.to_dict() for r in self.refused],
        }


def sort_key(objective: str) -> Any:
    if objective == "finish_time":
        return lambda r: (r.finish, r.net_fen, r.offer_id)
    if objective == "energy":
        return lambda r: (math.inf if r.energy_kwh is None else r.energy_kwh, r.net_fen, r.offer_id)
    return lambda r: (r.net_fen, r.finish, r.offer_id)


# Subsidy: the program's own rules, decided once per (program, provider, chip) where that is exact.

# Facts that differ between two offers of one provider and chip (a bare root: the whole contract).
_PER_OFFER_FACTS = frozenset({"contract", "contract.amount_fen", "contract.accelerator_hours"})


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


def _plan(program: Program) -> _Plan | None:
    if program.credits is not None:  # credits depend on hours at each provider: decided in full
        return None
    rules = per_offer_rules(program)
    ids = frozenset(r.id for r in program.eligibility if r in rules)
    reads = frozenset().union(*(facts_read(r.check) for r in rules))
    whole = "contract" in reads
    return _Plan(
        rules, ids, whole or "contract.accelerator_hours" in reads,
        whole or "contract.amount_fen" in reads, MoneyLimits.of(program),
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
    applicant: dict[str, Any] | None = None

    def contract(self, view: OfferView, acc: Accelerator, hours: float, cost: int) -> Contract:
        return Contract(
            view.provider.id, acc.id, Fraction(round(hours * 1e6), 1_000_000), cost,
            view.offer.currency, self.day, None, view.provider.city,
            view.provider.related_parties,
        )  # fmt: skip

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
        p = view.provider
        key = (p.id, p.city, p.related_parties, acc.id)
        found = table.get(key)
        if found is None:
            found = table[key] = _zero(program, plan, self.tenant, self.day, p, acc)
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
        p = view.provider
        key = (program.id, p.id, p.city, p.related_parties, acc.id,
               round(hours * 1e6) if plan.reads_hours else None,
               cost if plan.reads_amount else None)  # fmt: skip
        d = self.memo.get(key)
        if d is None:
            if self.applicant is None:
                self.applicant = applicant_facts(self.tenant, self.day)
            contract = self.contract(view, acc, hours, cost)
            facts = {"applicant": self.applicant, "contract": contract_facts(contract, acc)}
            table = self.table(program)
            verdicts = (*key[1:5], *(_passes(r, facts) for r in plan.per_offer))
            found = table.get(verdicts)
            if found is None:
                found = table[verdicts] = (compute_subsidy(program, self.tenant, contract, acc), "")
            d = self.memo[key] = found[0]
        return d

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
    contract = Contract(provider.id, acc.id, Fraction(0), 0, program.currency, day, None,
                        provider.city, provider.related_parties)  # fmt: skip
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
                        program.currency, day, None, provider.city,
                        provider.related_parties)  # fmt: skip
    return compute_subsidy(program, tenant, contract, acc)


def origin_rates(
    program: Program, tenant: Tenant, provider: Provider, hours: float, amount_fen: int, day: date
) -> dict[str, Fraction]:
    """The rate the program's own rules give ``tenant`` at ``provider`` on each accelerator
    origin: the lowest over the catalog's chips of that origin it accepts there (a class may
    depend on the chip), 0 where it accepts none."""
    out: dict[str, list[Fraction]] = {}
    for acc in load_catalog():
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


def duration_s(est: Estimate) -> int:
    """The p90 wall time in whole seconds, at least a minute: reserved, and the time limit."""
    scale = est.accelerator_hours_p90 / est.accelerator_hours if est.accelerator_hours else 1.0
    return max(MIN_DURATION_S, math.ceil(est.wall_hours * scale * 3600))


# The quote itself.


@dataclass(frozen=True, slots=True)
class _Gate:
    """What a quote decides once per (provider, chip): the chip, why the request refuses it,
    and why no voucher can pay there (checked after the offer's size, as before sizing)."""

    acc: Accelerator
    chip: tuple[str, str] | None  # (code, reason)
    unpaid: str


def _gate(
    request: JobRequest,
    view: OfferView,
    acc: Accelerator,
    vouchers: Sequence[VoucherView],
    subsidies: _Subsidies,
    screen: bool,
) -> _Gate:
    if acc.origin not in request.allowed_origins:
        return _Gate(acc, ("origin", f"{acc.model} is {acc.origin}; the request allows only "
                           + ", ".join(sorted(request.allowed_origins))), "")  # fmt: skip
    if acc.is_export_controlled and not request.allow_export_controlled:
        return _Gate(acc, ("export_controlled", f"{acc.model} is export-controlled "
                           f"({acc.export_control.status}); the request refuses such chips"),
                     "")  # fmt: skip
    if screen:  # refuse unaccredited offers before estimating on them
        why = [subsidies.blocked(v, view, acc) for v in vouchers]
        if all(why):
            return _Gate(acc, None, "no voucher's program accepts this offer: " + " | ".join(why))
    return _Gate(acc, None, "")


def quote_offers(
    request: JobRequest,
    offers: Iterable[OfferView],
    tenant: Tenant,
    vouchers: Sequence[VoucherView],
    busy: Mapping[str, Sequence[Busy]],
    now: datetime,
    *,
    model: MfuModel | None = None,
    explain_top: int = EXPLAIN_TOP,
    fast_subsidy: bool = True,
) -> Quote:
    """The quote over already-loaded offers, vouchers and reservations (no I/O)."""
    model = model or default_model()
    catalog = load_catalog()
    subsidies = _Subsidies(tenant, now.date(), fast_subsidy)
    screen = bool(vouchers) and all(subsidies.plan(v.program) is not None for v in vouchers)
    gates: dict[tuple[str, str], _Gate] = {}
    priced: dict[str, OfferView] = {}
    rows: list[QuoteRow] = []
    refused: list[Refusal] = []
    asked = request.accelerators
    for view in offers:
        offer = view.offer
        key = (view.provider.id, offer.accelerator_id)
        gate = gates.get(key)
        if gate is None:
            acc = catalog.get(offer.accelerator_id)
            gate = gates[key] = _gate(request, view, acc, vouchers, subsidies, screen)
        if gate.chip is not None:
            refused.append(Refusal(offer.id, gate.acc.id, *gate.chip))
        elif asked is not None and asked > offer.count:
            why = f"{asked} accelerators asked; the offer has {offer.count}"
            refused.append(Refusal(offer.id, gate.acc.id, "capacity", why))
        elif gate.unpaid:
            refused.append(Refusal(offer.id, gate.acc.id, "not_accredited", gate.unpaid))
        else:
            out = _price(request, view, gate.acc, vouchers, subsidies, busy, now, model)
            if isinstance(out, Refusal):
                refused.append(out)
            else:
                rows.append(out)
                priced[offer.id] = view
    rows.sort(key=sort_key(request.objective))
    programs = {v.voucher_id: v.program for v in vouchers}
    for row in rows[:explain_top]:  # lines only for the rows a reader sees first
        if row.voucher_id is not None:
            row.explain = partial(
                subsidies.explain, programs[row.voucher_id], priced[row.offer_id],
                catalog.get(row.accelerator_id), row.accelerator_hours, row.cost_fen,
            )  # fmt: skip
    return Quote(request.id, request.objective, rows, refused)


def _price(
    request: JobRequest,
    view: OfferView,
    acc: Accelerator,
    vouchers: Sequence[VoucherView],
    subsidies: _Subsidies,
    busy: Mapping[str, Sequence[Busy]],
    now: datetime,
    model: MfuModel,
) -> QuoteRow | Refusal:
    """One offer that passed the gate: estimated, subsidised, scheduled, or refused why."""
    offer = view.offer
    if request.duration_s is not None:
        assert request.accelerators is not None  # JobRequest.validate
        est: Estimate | Infeasible = fixed_size(
            acc, count=request.accelerators, duration_s=request.duration_s, pue=view.site.pue,
            price_fen_per_accel_hour=offer.price_fen_per_accel_hour, currency=offer.currency,
        )  # fmt: skip
    else:
        est = estimate_checked(
            request.workload, acc, count=request.accelerators, pue=view.site.pue,
            price_fen_per_accel_hour=offer.price_fen_per_accel_hour, currency=offer.currency,
            max_count=offer.count, model=model,
        )  # fmt: skip
    if isinstance(est, Infeasible):
        return Refusal(offer.id, acc.id, _ESTIMATE_CODES.get(est.code, est.code), est.reason)
    cost = est.cost_fen or 0
    paid: dict[str, int] = {}
    best: tuple[int, VoucherView, Fraction] | None = None
    why_not: list[str] = []
    for v in vouchers:
        if v.currency != offer.currency or v.program.currency != offer.currency:
            why_not.append(f"{v.program.id}: pays in {v.program.currency}")
            continue
        ok, rate, amount, decision = subsidies.decide(
            v.program, view, acc, est.accelerator_hours, cost
        )
        if not ok:
            why_not.append(f"{v.program.id}: {refused_by_program(decision)}")
            continue
        amount = min(amount, max(v.balance_fen, 0))
        paid[v.voucher_id] = amount
        if best is None or amount > best[0]:
            best = (amount, v, rate)
    if vouchers and best is None:
        why = "no voucher's program accepts this offer: " + " | ".join(why_not)
        return Refusal(offer.id, acc.id, "not_accredited", why)
    length = duration_s(est)
    start = earliest_start(
        offer.count, busy.get(offer.id, ()), est.count, timedelta(seconds=length),
        max(now, offer.available_from), offer.available_until,
    )  # fmt: skip
    if start is None:
        return Refusal(offer.id, acc.id, "capacity",
                       f"no window of {est.count} × {acc.model} for {length / 3600:.1f} h "
                       f"before the offer ends ({offer.available_until:%Y-%m-%d})")  # fmt: skip
    finish = start + timedelta(seconds=length)
    if request.deadline is not None and finish > request.deadline:
        return Refusal(offer.id, acc.id, "deadline",
                       f"earliest finish {finish:%Y-%m-%d %H:%M} is after the deadline "
                       f"{request.deadline:%Y-%m-%d %H:%M}")  # fmt: skip
    subsidy = best[0] if best else 0
    net = cost - subsidy
    if request.max_net_fen is not None and net > request.max_net_fen:
        return Refusal(offer.id, acc.id, "ceiling",
                       f"net cost {Money(net, offer.currency)} is above the ceiling "
                       f"{Money(request.max_net_fen, offer.currency)}")  # fmt: skip
    return QuoteRow(
        offer.id, view.site.id, view.provider.id, acc.id, acc.origin, est.count,
        est.accelerator_hours, est.accelerator_hours_p10, est.accelerator_hours_p90,
        est.wall_hours, length, cost, offer.currency, paid,
        best[1].voucher_id if best else None, best[1].program.id if best else None,
        best[2] if best else Fraction(0), subsidy, net, est.energy_kwh, start, finish,
        offer.price_fen_per_accel_hour, est.notes,
    )  # fmt: skip


# Loading what a quote needs.


def live_offers(uow: UnitOfWork, now: datetime) -> list[OfferView]:
    sites = {s.id: s for s in repo.list_all(uow.conn, Site)}
    providers = {p.id: p for p in repo.list_all(uow.conn, Provider)}
    views = []
    for offer in repo.list_all(uow.conn, Offer):
        site = sites.get(offer.site_id)
        provider = providers.get(site.provider_id) if site else None
        if site is None or provider is None or offer.available_until <= now:
            continue
        views.append(OfferView(offer, site, provider))
    return views


def tenant_vouchers(
    uow: UnitOfWork, who: Principal, request: JobRequest, tenant: Tenant, now: datetime
) -> list[VoucherView]:
    views = []
    for i, vid in enumerate(request.voucher_ids):
        voucher = usable_voucher(uow, who, vid, tenant.currency, now.date())
        if voucher.tenant_id != request.tenant_id:
            raise ValidationError(f"voucher_ids[{i}]", f"voucher {vid} is not {tenant.id}'s")
        balance = ledger.balance(uow, voucher.account_id).available_minor
        program = get_program(voucher.program_id)
        views.append(VoucherView(vid, program, voucher.account_id, balance, voucher.currency))
    return views


def quote(
    uow: UnitOfWork, who: Principal, request: JobRequest, *, now: datetime | None = None
) -> Quote:
    """Every live offer for ``request``: feasible rows sorted by its objective, and refusals."""
    request.validate()
    request.check_sized()
    if request.workload is not None:
        request.workload.validate()
    acting_for(who, request.tenant_id, "ask for quotes")
    now = now or datetime.now(UTC)
    tenant = registered_tenant(uow, request.tenant_id, "tenant_id")
    vouchers = tenant_vouchers(uow, who, request, tenant, now)
    offers = live_offers(uow, now)
    if request.offer_ids:
        offers = chosen_offers(offers, request.offer_ids)
    return quote_offers(request, offers, tenant, vouchers, busy_by_offer(uow, now),
                        now)  # fmt: skip


def chosen_offers(offers: list[OfferView], offer_ids: Sequence[str]) -> list[OfferView]:
    """The live offers a request names, in its order; one it names that is not live is bad
    input, not a refusal (the caller chose it)."""
    by_id = {v.offer.id: v for v in offers if v.offer.retired_at is None}
    for i, oid in enumerate(offer_ids):
        if oid not in by_id:
            raise ValidationError(f"offer_ids[{i}]", f"unknown, retired or ended offer {oid!r}")
    return [by_id[oid] for oid in offer_ids]
