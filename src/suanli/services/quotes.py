"""Quotes: every live offer priced for one job request, or refused with the reason.

For each offer: the estimator's hours (p10/p90), cost and energy at the site's PUE; the subsidy
each of the tenant's vouchers would pay under its program's own rules (``compute_subsidy``),
never above what is left on the voucher; the net cost (a run is paid by one voucher, the one
that pays most, and the wallet); and the earliest start in the offer's capacity calendar.
Rows are sorted by the request's objective. Reads only.

Speed: ``compute_subsidy`` builds facts and explanation lines, tens of microseconds an offer.
When a program's rules read no per-offer figure (amount, hours) and it pays no credits, the
eligibility and rate depend only on (provider, accelerator), so they are decided once per pair
and the money limits applied per offer (``_limit``); lines are written only for the top rows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from suanli.domain.catalog import Accelerator
from suanli.domain.exchange import (
    MIN_DURATION_S,
    Busy,
    JobRequest,
    Refusal,
    earliest_start,
)
from suanli.domain.jobs import FINAL_STATUS
from suanli.domain.money import Money, apply_rate
from suanli.domain.programs import Program
from suanli.domain.registry import Offer, Provider, Site, Tenant
from suanli.domain.roles import Principal
from suanli.domain.subsidy import AWARD, Contract, SubsidyDecision, compute_subsidy
from suanli.errors import ValidationError
from suanli.estimate.api import Estimate, Infeasible, estimate_checked
from suanli.estimate.mfu import MfuModel
from suanli.services import ledger
from suanli.services.applications import acting_for, registered_tenant, usable_voucher
from suanli.services.catalog import load_catalog
from suanli.services.estimates import default_model
from suanli.services.programs import get_program
from suanli.store.repositories import registry as repo
from suanli.store.tables.exchange import reservations
from suanli.store.tables.runs import runs
from suanli.store.uow import UnitOfWork

EXPLAIN_TOP = 5  # rows that carry the subsidy's full explanation
_ESTIMATE_CODES = {
    "precision_unsupported": "precision",
    "too_large": "memory",
    "count_too_small": "memory",
    "rate": "capacity",
    "missing_figures": "catalog",
}
_PER_OFFER_FACTS = {("contract", "amount_fen"), ("contract", "accelerator_hours")}


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
    subsidy_lines: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

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


def memo_safe(program: Program) -> bool:
    """True when eligibility and rate cannot depend on the offer's amount or hours."""
    if program.credits is not None:
        return False
    for rule in (*program.eligibility, *(c.when for c in program.classes)):
        reads = getattr(rule.check, "_reads", None)  # CEL rules say which facts they read
        if reads is None or _PER_OFFER_FACTS & set(reads):
            return False
    return True


def _limit(program: Program, rate: Fraction, cost_fen: int) -> int:
    """The money limits of ``compute_subsidy`` for one contract, without the explanation."""
    value = apply_rate(cost_fen, rate)
    if program.cap_per_entity_fen is not None:
        cap = apply_rate(program.cap_per_entity_fen, program.released_share(AWARD))
        value = min(value, max(cap, 0))
    if program.face_value_fen is not None:
        value = min(value, program.face_value_fen)
    stack = min(program.stacking.max_total_rate, Fraction(1))
    return min(value, apply_rate(cost_fen, stack))


@dataclass(slots=True)
class _Subsidies:
    tenant: Tenant
    day: Any
    fast: bool = True
    memo: dict[tuple[str, str, str], SubsidyDecision] = field(default_factory=dict)
    safe: dict[str, bool] = field(default_factory=dict)
    why: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def contract(self, view: OfferView, acc: Accelerator, hours: float, cost: int) -> Contract:
        return Contract(
            view.provider.id, acc.id, Fraction(round(hours * 1e6), 1_000_000), cost,
            view.offer.currency, self.day, None, view.provider.city,
            view.provider.related_parties,
        )  # fmt: skip

    def is_fast(self, program: Program) -> bool:
        found = self.safe.get(program.id)
        if found is None:
            found = self.safe[program.id] = self.fast and memo_safe(program)
        return found

    def rules(self, program: Program, view: OfferView, acc: Accelerator) -> SubsidyDecision:
        """Eligibility and rate for a fast program, decided once per (provider, chip)."""
        key = (program.id, view.provider.id, acc.id)
        d = self.memo.get(key)
        if d is None:
            d = self.memo[key] = _rules(program, self.tenant, self.day, view.provider, acc)
        return d

    def blocked(self, v: VoucherView, view: OfferView, acc: Accelerator) -> str:
        """Why the voucher cannot pay on this offer ("" if it can), for a fast program."""
        if v.currency != view.offer.currency or v.program.currency != view.offer.currency:
            return f"{v.program.id}: pays in {v.program.currency}"
        key = (v.program.id, view.provider.id, acc.id)
        found = self.why.get(key)
        if found is None:
            d = self.rules(v.program, view, acc)
            found = self.why[key] = (
                "" if d.eligible else f"{v.program.id}: {_refused_by_program(d)}"
            )
        return found

    def decide(
        self, program: Program, view: OfferView, acc: Accelerator, hours: float, cost: int
    ) -> tuple[bool, Fraction, int, SubsidyDecision | None]:
        """(eligible, rate, subsidy, the full decision when one was computed)."""
        if not self.is_fast(program):
            d = compute_subsidy(program, self.tenant, self.contract(view, acc, hours, cost), acc)
            return d.eligible, d.rate, d.subsidy_fen, d
        d = self.rules(program, view, acc)
        if not d.eligible:
            return False, Fraction(0), 0, d
        return True, d.rate, _limit(program, d.rate, cost), None

    def explain(
        self, program: Program, view: OfferView, acc: Accelerator, hours: float, cost: int
    ) -> tuple[str, ...]:
        contract = self.contract(view, acc, hours, cost)
        return compute_subsidy(program, self.tenant, contract, acc).lines


# Decisions on a zero contract, shared by quotes: the same tenant asking again the same day
# reuses them. Keyed by everything the decision reads; the program object is kept and compared,
# so a reloaded program file is decided afresh.
_RULES: dict[tuple[Any, ...], tuple[Program, SubsidyDecision]] = {}
_RULES_LIMIT = 65536


def _rules(
    program: Program, tenant: Tenant, day: Any, provider: Provider, acc: Accelerator
) -> SubsidyDecision:
    key = (program.id, tenant, day, provider.id, provider.city, provider.related_parties, acc.id)
    found = _RULES.get(key)
    if found is not None and found[0] is program:
        return found[1]
    contract = Contract(provider.id, acc.id, Fraction(0), 0, program.currency, day, None,
                        provider.city, provider.related_parties)  # fmt: skip
    decision = compute_subsidy(program, tenant, contract, acc)
    if len(_RULES) >= _RULES_LIMIT:
        _RULES.clear()
    _RULES[key] = (program, decision)
    return decision


def clear_rule_cache() -> None:
    _RULES.clear()


def _refused_by_program(decision: SubsidyDecision | None) -> str:
    if decision is None:
        return "not eligible"
    failed = [f"{v.check}: {v.reason}" for v in decision.reasons if not v.passed]
    return "; ".join(failed) or "not eligible"


def duration_s(est: Estimate) -> int:
    """The p90 wall time in whole seconds, at least a minute: reserved, and the time limit."""
    scale = est.accelerator_hours_p90 / est.accelerator_hours if est.accelerator_hours else 1.0
    return max(MIN_DURATION_S, math.ceil(est.wall_hours * scale * 3600))


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
    fast_vouchers = bool(vouchers) and all(subsidies.is_fast(v.program) for v in vouchers)
    rows: list[QuoteRow] = []
    refused: list[Refusal] = []
    w = request.workload
    for view in offers:
        offer = view.offer
        acc = catalog.get(offer.accelerator_id)

        def refuse(code: str, reason: str, offer: Offer = offer, acc: Accelerator = acc) -> None:
            refused.append(Refusal(offer.id, acc.id, code, reason))

        if acc.origin not in request.allowed_origins:
            refuse("origin", f"{acc.model} is {acc.origin}; the request allows only "
                   + ", ".join(sorted(request.allowed_origins)))  # fmt: skip
            continue
        if acc.is_export_controlled and not request.allow_export_controlled:
            refuse("export_controlled", f"{acc.model} is export-controlled "
                   f"({acc.export_control.status}); the request refuses such chips")  # fmt: skip
            continue
        if request.accelerators is not None and request.accelerators > offer.count:
            refuse("capacity", f"{request.accelerators} accelerators asked; the offer has "
                   f"{offer.count}")  # fmt: skip
            continue
        if fast_vouchers:  # refuse unaccredited offers before estimating on them
            why = [subsidies.blocked(v, view, acc) for v in vouchers]
            if all(why):
                refuse("not_accredited", "no voucher's program accepts this offer: "
                       + " | ".join(why))  # fmt: skip
                continue
        est = estimate_checked(
            w, acc, count=request.accelerators, pue=view.site.pue,
            price_fen_per_accel_hour=offer.price_fen_per_accel_hour, currency=offer.currency,
            max_count=offer.count, model=model,
        )  # fmt: skip
        if isinstance(est, Infeasible):
            refuse(_ESTIMATE_CODES.get(est.code, est.code), est.reason)
            continue
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
                why_not.append(f"{v.program.id}: {_refused_by_program(decision)}")
                continue
            amount = min(amount, max(v.balance_fen, 0))
            paid[v.voucher_id] = amount
            if best is None or amount > best[0]:
                best = (amount, v, rate)
        if vouchers and best is None:
            refuse("not_accredited", "no voucher's program accepts this offer: "
                   + " | ".join(why_not))  # fmt: skip
            continue
        length = duration_s(est)
        start = earliest_start(
            offer.count, busy.get(offer.id, ()), est.count, timedelta(seconds=length),
            max(now, offer.available_from), offer.available_until,
        )  # fmt: skip
        if start is None:
            refuse("capacity", f"no window of {est.count} × {acc.model} for {length / 3600:.1f} h "
                   f"before the offer ends ({offer.available_until:%Y-%m-%d})")  # fmt: skip
            continue
        finish = start + timedelta(seconds=length)
        if request.deadline is not None and finish > request.deadline:
            refuse("deadline", f"earliest finish {finish:%Y-%m-%d %H:%M} is after the deadline "
                   f"{request.deadline:%Y-%m-%d %H:%M}")  # fmt: skip
            continue
        subsidy = best[0] if best else 0
        net = cost - subsidy
        if request.max_net_fen is not None and net > request.max_net_fen:
            refuse("ceiling", f"net cost {Money(net, offer.currency)} is above the ceiling "
                   f"{Money(request.max_net_fen, offer.currency)}")  # fmt: skip
            continue
        rows.append(
            QuoteRow(
                offer.id,
                view.site.id,
                view.provider.id,
                acc.id,
                acc.origin,
                est.count,
                est.accelerator_hours,
                est.accelerator_hours_p10,
                est.accelerator_hours_p90,
                est.wall_hours,
                length,
                cost,
                offer.currency,
                paid,
                best[1].voucher_id if best else None,
                best[1].program.id if best else None,
                best[2] if best else Fraction(0),
                subsidy,
                net,
                est.energy_kwh,
                start,
                finish,
                offer.price_fen_per_accel_hour,
                (),
                est.notes,
            )  # fmt: skip
        )
    rows.sort(key=sort_key(request.objective))
    by_id = {v.offer.id: v for v in offers} if explain_top and vouchers else {}
    programs = {v.voucher_id: v.program for v in vouchers}
    for row in rows[:explain_top] if by_id else ():
        if row.voucher_id is not None:
            acc = catalog.get(row.accelerator_id)
            row.subsidy_lines = subsidies.explain(
                programs[row.voucher_id], by_id[row.offer_id], acc, row.accelerator_hours,
                row.cost_fen,
            )  # fmt: skip
    return Quote(request.id, request.objective, rows, refused)


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


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def busy_by_offer(
    uow: UnitOfWork, now: datetime, offer_ids: Iterable[str] | None = None
) -> dict[str, list[Busy]]:
    """Active reservations that still matter: not ended, and their run not finished."""
    finished = select(runs.c.id).where(runs.c.status.in_([s.value for s in FINAL_STATUS.values()]))
    stmt = select(reservations).where(
        reservations.c.status == "active",
        reservations.c.end_at > now,
        reservations.c.id.not_in(finished),
    )
    if offer_ids is not None:
        stmt = stmt.where(reservations.c.offer_id.in_(list(offer_ids)))
    out: dict[str, list[Busy]] = defaultdict(list)
    for r in uow.conn.execute(stmt):
        out[r.offer_id].append(Busy(_aware(r.start_at), _aware(r.end_at), r.accelerators))
    return dict(out)


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
    request.workload.validate()
    acting_for(who, request.tenant_id, "ask for quotes")
    now = now or datetime.now(UTC)
    tenant = registered_tenant(uow, request.tenant_id, "tenant_id")
    vouchers = tenant_vouchers(uow, who, request, tenant, now)
    return quote_offers(request, live_offers(uow, now), tenant, vouchers, busy_by_offer(uow, now),
                        now)  # fmt: skip
