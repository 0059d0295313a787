"""Quotes: every live offer priced for one job request, or refused with the reason.

For each offer: the estimator's hours (p10/p90), cost and energy at the site's PUE; the subsidy
each of the tenant's vouchers would pay under its program's own rules (``compute_subsidy``),
never above what is left on the voucher; the net cost (a run is paid by one voucher, the one
that pays most, and the wallet); and the earliest start in the offer's capacity calendar.
Rows are sorted by the request's objective. Plain Python: the catalog, the utilisation model,
the offers, vouchers and reservations are given (``services.quotes`` loads them).

Speed: ``compute_subsidy`` builds facts and explanation lines, tens of microseconds an offer.
For a program that pays no credits, eligibility and rate depend only on (provider, chip) and on
the verdicts of the rules that read an offer's amount or hours (``per_offer_rules``, from what
each compiled rule says it reads), so they are decided once per such key and the money limits
applied per offer (``MoneyLimits``). What the request and the vouchers say of a (provider, chip)
is decided once too (``_Gate``), so the many offers refused outright cost a dict lookup each;
lines are written only for the top rows.

Compliance: the flags on each offer (``domain.compliance``) are decided before the quote, once
per offer; an offer a flag excludes is refused with the rule's id and source (code
``compliance``), and a flag that excludes nothing here is a note on the row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from functools import partial
from typing import Any

from suanli.domain.catalog import Accelerator, Catalog
from suanli.domain.compliance import Flag, exclusion
from suanli.domain.exchange import (
    MIN_DURATION_S,
    Busy,
    JobRequest,
    OfferRefusal,
    earliest_start,
)
from suanli.domain.money import Money
from suanli.domain.registry import Tenant
from suanli.domain.subsidy_plan import (
    OfferView,
    VoucherView,
    _Subsidies,
    refused_by_program,
    unpaid_code,
)
from suanli.estimate.api import Estimate, Infeasible, estimate_checked, fixed_size
from suanli.estimate.mfu import MfuModel
from suanli.rejection import Code, Rejection

EXPLAIN_TOP = 5  # rows that carry the subsidy's full explanation
_ESTIMATE_CODES = {
    Code.PRECISION_UNSUPPORTED: Code.PRECISION,
    Code.TOO_LARGE: Code.MEMORY,
    Code.COUNT_TOO_SMALL: Code.MEMORY,
    Code.RATE: Code.CAPACITY,
    Code.MISSING_FIGURES: Code.CATALOG,
}


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
    compliance: tuple[str, ...] = ()  # ids of the rules that flag the offer without excluding it
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
            "compliance": list(self.compliance),
        }


@dataclass(slots=True)
class Quote:
    request_id: str
    objective: str
    rows: list[QuoteRow]
    refused: list[OfferRefusal] = field(default_factory=list)
    rejection: Rejection | None = None  # why no offer could be priced at all

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "objective": self.objective,
            "feasible": [r.to_dict() for r in self.rows],
            "infeasible": [r.to_dict() for r in self.refused],
            "rejection": None if self.rejection is None else self.rejection.to_dict(),
        }


def sort_key(objective: str) -> Any:
    if objective == "finish_time":
        return lambda r: (r.finish, r.net_fen, r.offer_id)
    if objective == "energy":
        return lambda r: (math.inf if r.energy_kwh is None else r.energy_kwh, r.net_fen, r.offer_id)
    return lambda r: (r.net_fen, r.finish, r.offer_id)


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
    chip: tuple[Code, str] | None  # (code, reason)
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
        return _Gate(acc, (Code.ORIGIN, f"{acc.model} is {acc.origin}; the request allows only "
                           + ", ".join(sorted(request.allowed_origins))), "")  # fmt: skip
    if acc.is_export_controlled and not request.allow_export_controlled:
        return _Gate(acc, (Code.EXPORT_CONTROLLED, f"{acc.model} is export-controlled "
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
    catalog: Catalog,
    model: MfuModel,
    explain_top: int = EXPLAIN_TOP,
    fast_subsidy: bool = True,
    flags: Mapping[str, Sequence[Flag]] | None = None,
    placing: bool = False,
) -> Quote:
    """The quote over already-loaded offers, vouchers and reservations, with the catalog and
    the utilisation model given (no I/O). ``flags`` are the offers' compliance flags; a flag
    needing evidence excludes its offer when vouchers pay or the quote is for ``placing``."""
    flags = flags or {}
    strict = bool(vouchers) or placing
    subsidies = _Subsidies(tenant, now.date(), fast_subsidy)
    screen = bool(vouchers) and all(subsidies.plan(v.program) is not None for v in vouchers)
    gates: dict[tuple[str, str], _Gate] = {}
    priced: dict[str, OfferView] = {}
    rows: list[QuoteRow] = []
    refused: list[OfferRefusal] = []
    asked = request.accelerators
    for view in offers:
        offer = view.offer
        flagged = flags.get(offer.id)
        if flagged:
            hit = exclusion(flagged, tenant, paid_or_placed=strict)
            if hit is not None:
                refused.append(OfferRefusal(offer.id, offer.accelerator_id, Code.COMPLIANCE,
                                            hit.refusal_reason(), hit.rule.id))  # fmt: skip
                continue
        key = (view.provider.id, offer.accelerator_id)
        gate = gates.get(key)
        if gate is None:
            acc = catalog.get(offer.accelerator_id)
            gate = gates[key] = _gate(request, view, acc, vouchers, subsidies, screen)
        if gate.chip is not None:
            refused.append(OfferRefusal(offer.id, gate.acc.id, *gate.chip))
        elif asked is not None and asked > offer.count:
            why = f"{asked} accelerators asked; the offer has {offer.count}"
            refused.append(OfferRefusal(offer.id, gate.acc.id, Code.CAPACITY, why))
        elif gate.unpaid:
            code = unpaid_code(gate.unpaid)
            refused.append(OfferRefusal(offer.id, gate.acc.id, code, gate.unpaid))
        else:
            out = _price(request, view, gate.acc, vouchers, subsidies, busy, now, model)
            if isinstance(out, OfferRefusal):
                refused.append(out)
            else:
                if flagged:
                    _note_flags(out, flagged, tenant)
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


def _note_flags(row: QuoteRow, flagged: Sequence[Flag], tenant: Tenant) -> None:
    """Flags that leave the offer in: said on the row, rule by rule."""
    shown = [f for f in flagged if f.rule.touches(tenant) and f.status != "cleared"]
    row.compliance = tuple(f.rule.id for f in shown)
    row.notes = row.notes + tuple(f"compliance: {f.refusal_reason()}" for f in shown)


def _estimate(
    request: JobRequest, view: OfferView, acc: Accelerator, model: MfuModel
) -> Estimate | Infeasible:
    """The job on this offer: its stated size, or the estimator's figures for its workload."""
    offer = view.offer
    if request.duration_s is not None:
        assert request.accelerators is not None  # JobRequest.validate
        return fixed_size(
            acc, count=request.accelerators, duration_s=request.duration_s, pue=view.site.pue,
            price_fen_per_accel_hour=offer.price_fen_per_accel_hour, currency=offer.currency,
        )  # fmt: skip
    return estimate_checked(
        request.workload, acc, count=request.accelerators, pue=view.site.pue,
        price_fen_per_accel_hour=offer.price_fen_per_accel_hour, currency=offer.currency,
        max_count=offer.count, model=model,
    )  # fmt: skip


def _price(
    request: JobRequest,
    view: OfferView,
    acc: Accelerator,
    vouchers: Sequence[VoucherView],
    subsidies: _Subsidies,
    busy: Mapping[str, Sequence[Busy]],
    now: datetime,
    model: MfuModel,
) -> QuoteRow | OfferRefusal:
    """One offer that passed the gate: estimated, subsidised, scheduled, or refused why."""
    offer = view.offer
    est = _estimate(request, view, acc, model)
    if isinstance(est, Infeasible):
        return OfferRefusal(
            offer.id, acc.id, _ESTIMATE_CODES.get(Code(est.code), Code(est.code)), est.reason
        )
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
        return OfferRefusal(offer.id, acc.id, unpaid_code(why), why)
    length = duration_s(est)
    start = earliest_start(
        offer.count, busy.get(offer.id, ()), est.count, timedelta(seconds=length),
        max(now, offer.available_from), offer.available_until,
    )  # fmt: skip
    if start is None:
        return OfferRefusal(offer.id, acc.id, Code.CAPACITY,
                       f"no window of {est.count} × {acc.model} for {length / 3600:.1f} h "
                       f"before the offer ends ({offer.available_until:%Y-%m-%d})")  # fmt: skip
    finish = start + timedelta(seconds=length)
    if request.deadline is not None and finish > request.deadline:
        return OfferRefusal(offer.id, acc.id, Code.DEADLINE,
                       f"earliest finish {finish:%Y-%m-%d %H:%M} is after the deadline "
                       f"{request.deadline:%Y-%m-%d %H:%M}")  # fmt: skip
    subsidy = best[0] if best else 0
    net = cost - subsidy
    if request.max_net_fen is not None and net > request.max_net_fen:
        return OfferRefusal(offer.id, acc.id, Code.CEILING,
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
