"""Pricing the offers that pass a quote's gates: the estimate, each voucher's subsidy, the
earliest start and the net cost of one offer, or why it is refused.

``price_offer`` is the general path: the estimator and ``_Subsidies.decide`` on each offer.
``Pricer`` gives the same rows for a quote over many offers (a request sized by the estimator,
every voucher's program planned) doing each piece of work once per key it depends on: the
estimate once per (chip, offer size), since the estimator reads nothing else of an offer, then
the offer's price and its site's PUE applied (as ``Estimate.priced`` does); each voucher's
eligibility and rate once per (provider, chip) and, for a program whose per-offer rules read
the contract's hours or amount, per those values; the money limits in integer arithmetic
(floor(cost × numerator / denominator), as ``apply_rate``); the capacity calendar only for an
offer with reservations; and the refusal text of an offer no voucher pays on only for such an
offer. ``tests/unit/test_quote_pricing.py`` compares the two paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from suanli.domain.catalog import Accelerator
from suanli.domain.exchange import Busy, JobRequest, OfferRefusal, earliest_start
from suanli.domain.money import Money
from suanli.domain.quote_rows import QuoteRow, duration_s
from suanli.domain.subsidy_plan import (
    OfferView,
    VoucherView,
    _Plan,
    _Subsidies,
    refused_by_program,
    unpaid_code,
)
from suanli.estimate.api import (
    Estimate,
    Infeasible,
    estimate_checked,
    estimate_core,
    fits_within,
    fixed_size,
)
from suanli.estimate.memory import MAX_COUNT
from suanli.estimate.mfu import MfuModel
from suanli.rejection import Code

_ESTIMATE_CODES = {
    Code.PRECISION_UNSUPPORTED: Code.PRECISION,
    Code.TOO_LARGE: Code.MEMORY,
    Code.COUNT_TOO_SMALL: Code.MEMORY,
    Code.RATE: Code.CAPACITY,
    Code.MISSING_FIGURES: Code.CATALOG,
}
_NONE = Fraction(0)


def estimate_refusal(offer_id: str, acc_id: str, est: Infeasible) -> OfferRefusal:
    code = Code(est.code)
    return OfferRefusal(offer_id, acc_id, _ESTIMATE_CODES.get(code, code), est.reason)


def no_window(count: int, acc: Accelerator, length_s: int, until: datetime) -> str:
    return (f"no window of {count} × {acc.model} for {length_s / 3600:.1f} h "
            f"before the offer ends ({until:%Y-%m-%d})")  # fmt: skip


def late(finish: datetime, deadline: datetime) -> str:
    return (f"earliest finish {finish:%Y-%m-%d %H:%M} is after the deadline "
            f"{deadline:%Y-%m-%d %H:%M}")  # fmt: skip


def over_ceiling(net_fen: int, ceiling_fen: int, currency: str) -> str:
    return (
        f"net cost {Money(net_fen, currency)} is above the ceiling {Money(ceiling_fen, currency)}"
    )


def estimate_for(
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


def price_offer(
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
    est = estimate_for(request, view, acc, model)
    if isinstance(est, Infeasible):
        return estimate_refusal(offer.id, acc.id, est)
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
        why = no_window(est.count, acc, length, offer.available_until)
        return OfferRefusal(offer.id, acc.id, Code.CAPACITY, why)
    finish = start + timedelta(seconds=length)
    if request.deadline is not None and finish > request.deadline:
        return OfferRefusal(offer.id, acc.id, Code.DEADLINE, late(finish, request.deadline))
    subsidy = best[0] if best else 0
    net = cost - subsidy
    if request.max_net_fen is not None and net > request.max_net_fen:
        why = over_ceiling(net, request.max_net_fen, offer.currency)
        return OfferRefusal(offer.id, acc.id, Code.CEILING, why)
    return QuoteRow(
        offer.id, view.site.id, view.provider.id, acc.id, acc.origin, est.count,
        est.accelerator_hours, est.accelerator_hours_p10, est.accelerator_hours_p90,
        est.wall_hours, length, cost, offer.currency, paid,
        best[1].voucher_id if best else None, best[1].program.id if best else None,
        best[2] if best else Fraction(0), subsidy, net, est.energy_kwh, start, finish,
        offer.price_fen_per_accel_hour, est.notes,
    )  # fmt: skip


# The quote's fast path.


@dataclass(frozen=True, slots=True)
class _Sized:
    """The estimate every offer of one chip and size shares (PUE 1, unpriced), and what follows
    from it alone: the reserved length and the hours as a rule on the contract sees them."""

    est: Estimate
    length_s: int
    length: timedelta
    hours_key: int


# One voucher's program on one (provider, chip[, hours, amount]): eligible, the rate, and the
# rate's numerator and denominator for integer arithmetic.
_Decided = tuple[bool, Fraction, int, int]
# A voucher that may pay on a slot: its index and id, its decision there (None: per offer), its
# program's cap and face value (or None), the stacking limit's numerator and denominator, and
# its balance (at least 0).
_Payer = tuple[int, str, _Decided | None, int | None, int | None, int, int, int]
_Slot = tuple[_Sized | Infeasible, tuple[_Payer, ...]]


class Pricer:
    """``price_offer`` for the offers of one quote, with the work shared as the module says."""

    def __init__(
        self,
        request: JobRequest,
        vouchers: Sequence[VoucherView],
        subsidies: _Subsidies,
        busy: Mapping[str, Sequence[Busy]],
        now: datetime,
        model: MfuModel,
    ) -> None:
        self.request, self.vouchers, self.subsidies = request, vouchers, subsidies
        self.busy, self.now, self.model = busy, now, model
        plans = [subsidies.plan(v.program) for v in vouchers]
        self.plans: list[_Plan] = [p for p in plans if p is not None]
        # (cap or None, face value or None, the stacking limit's numerator and denominator)
        self.limits = [
            (p.limits.cap_fen, p.limits.face_value_fen, p.limits.stack_rate.numerator,
             p.limits.stack_rate.denominator) for p in self.plans
        ]  # fmt: skip
        self.sized: dict[tuple[str, int], _Sized | Infeasible] = {}
        self.decisions: dict[tuple[Any, ...], _Decided] = {}
        self.slots: dict[tuple[str, str, int, str], _Slot] = {}
        self.payers: dict[tuple[str, str, str, int], tuple[_Payer, ...]] = {}

    @staticmethod
    def applies(
        request: JobRequest, vouchers: Sequence[VoucherView], subsidies: _Subsidies
    ) -> bool:
        """Whether the fast path prices this quote: an estimated request, planned programs."""
        return request.duration_s is None and all(
            subsidies.plan(v.program) is not None for v in vouchers
        )

    def size(self, acc: Accelerator, count: int) -> _Sized | Infeasible:
        key = (acc.id, count)
        found = self.sized.get(key)
        if found is None:
            if self.request.workload.is_training:
                # As ``estimate_core``: a training estimate that fits an offer is the uncapped
                # one, so every size of a chip it fits shares one ``_Sized``.
                whole = self.size(acc, MAX_COUNT) if count < MAX_COUNT else None
                if isinstance(whole, _Sized) and fits_within(whole.est, count):
                    self.sized[key] = whole
                    return whole
            core = estimate_core(self.request.workload, acc, count=self.request.accelerators,
                                 max_count=count, model=self.model)  # fmt: skip
            if isinstance(core, Infeasible):
                found = core
            else:
                length = duration_s(core)
                hours_key = round(core.accelerator_hours * 1e6)
                found = _Sized(core, length, timedelta(seconds=length), hours_key)
            self.sized[key] = found
        return found

    def decide(
        self, i: int, view: OfferView, acc: Accelerator, sized: _Sized, cost: int
    ) -> _Decided:
        """Voucher ``i``'s program on this offer, memoised on what its rules read."""
        plan = self.plans[i]
        key = (i, view.provider.id, acc.id, sized.hours_key if plan.reads_hours else None,
               cost if plan.reads_amount else None)  # fmt: skip
        found = self.decisions.get(key)
        if found is None:
            program = self.vouchers[i].program
            hours = sized.est.accelerator_hours
            d = self.subsidies.decided(program, plan, view, acc, hours, cost)
            if not d.eligible:
                found = (False, _NONE, 0, 1)
            elif d.rate < 0 or plan.limits.stack_rate < 0:
                raise ValueError("rate must be non-negative")  # as apply_rate
            else:
                found = (True, d.rate, d.rate.numerator, d.rate.denominator)
            self.decisions[key] = found
        return found

    def unpaid(self, view: OfferView, acc: Accelerator, hours: float, cost: int) -> OfferRefusal:
        """An offer no voucher pays on, refused with each program's reasons."""
        why_not = []
        currency = view.offer.currency
        for v in self.vouchers:
            if v.currency != currency or v.program.currency != currency:
                why_not.append(f"{v.program.id}: pays in {v.program.currency}")
                continue
            decision = self.subsidies.decide(v.program, view, acc, hours, cost)[3]
            why_not.append(f"{v.program.id}: {refused_by_program(decision)}")
        why = "no voucher's program accepts this offer: " + " | ".join(why_not)
        return OfferRefusal(view.offer.id, acc.id, unpaid_code(why), why)

    def slot(self, view: OfferView, acc: Accelerator) -> _Slot:
        """What every offer of one (provider, chip, size, currency) shares: the estimate, and
        the vouchers that may pay there (``payers``)."""
        offer = view.offer
        sized = self.size(acc, offer.count)
        payers: tuple[_Payer, ...] = ()
        if not isinstance(sized, Infeasible):
            where = (view.provider.id, acc.id, offer.currency, sized.hours_key)
            found = self.payers.get(where)
            payers = found if found is not None else self.payers_at(view, acc, sized, where)
        slot = self.slots[(view.provider.id, acc.id, offer.count, offer.currency)] = (sized, payers)
        return slot

    def payers_at(
        self, view: OfferView, acc: Accelerator, sized: _Sized, where: tuple[str, str, str, int]
    ) -> tuple[_Payer, ...]:
        """The vouchers that may pay at one (provider, chip, currency, hours), each with its
        decision where the amount does not change it (None: decided per offer). The sizes of
        one chip whose estimates agree share them."""
        offer = view.offer
        # decided on this first offer's amount, as price_offer decides it
        cost = sized.est.cost_fen_at(offer.price_fen_per_accel_hour)
        payers: list[_Payer] = []
        for i, v in enumerate(self.vouchers):
            if v.currency != offer.currency or v.program.currency != offer.currency:
                continue
            fixed = None
            if not self.plans[i].reads_amount:
                fixed = self.decide(i, view, acc, sized, cost)
            if fixed is None or fixed[0]:
                payers.append((i, v.voucher_id, fixed, *self.limits[i], max(v.balance_fen, 0)))
        found = self.payers[where] = tuple(payers)
        return found

    def subsidies_on(
        self, view: OfferView, acc: Accelerator, sized: _Sized, payers: tuple[_Payer, ...],
        cost: int,
    ) -> tuple[dict[str, int], int, int, Fraction]:  # fmt: skip
        """What each voucher would pay, and the index and rate of the one that pays most (the
        first of equals); index -1 where none pays."""
        paid: dict[str, int] = {}
        best, best_fen, best_rate = -1, 0, _NONE
        for i, voucher_id, fixed, cap, face, stack_num, stack_den, balance in payers:
            ok, rate, num, den = fixed or self.decide(i, view, acc, sized, cost)
            if not ok:
                continue
            amount = cost * num // den
            if cap is not None and cap < amount:
                amount = cap
            if face is not None and face < amount:
                amount = face
            amount = min(amount, cost * stack_num // stack_den, balance)
            paid[voucher_id] = amount
            if best < 0 or amount > best_fen:
                best, best_fen, best_rate = i, amount, rate
        return paid, best, best_fen, best_rate

    def price(self, view: OfferView, acc: Accelerator) -> QuoteRow | OfferRefusal:
        """What ``price_offer`` gives for this offer."""
        offer = view.offer
        sized, payers = self.slots.get(
            (view.provider.id, acc.id, offer.count, offer.currency)
        ) or self.slot(view, acc)
        if isinstance(sized, Infeasible):
            return estimate_refusal(offer.id, acc.id, sized)
        est = sized.est
        cost = est.cost_fen_at(offer.price_fen_per_accel_hour)
        paid, best, subsidy, rate = self.subsidies_on(view, acc, sized, payers, cost)
        if best < 0 and self.vouchers:
            return self.unpaid(view, acc, est.accelerator_hours, cost)
        not_before = max(self.now, offer.available_from)
        reservations = self.busy.get(offer.id)
        if reservations:
            start = earliest_start(offer.count, reservations, est.count, sized.length, not_before,
                                   offer.available_until)  # fmt: skip
        elif est.count <= offer.count and not_before + sized.length <= offer.available_until:
            start = not_before  # an empty calendar: earliest_start's answer, without its work
        else:
            start = None
        if start is None:
            why = no_window(est.count, acc, sized.length_s, offer.available_until)
            return OfferRefusal(offer.id, acc.id, Code.CAPACITY, why)
        finish = start + sized.length
        request = self.request
        if request.deadline is not None and finish > request.deadline:
            return OfferRefusal(offer.id, acc.id, Code.DEADLINE, late(finish, request.deadline))
        net = cost - subsidy
        if request.max_net_fen is not None and net > request.max_net_fen:
            why = over_ceiling(net, request.max_net_fen, offer.currency)
            return OfferRefusal(offer.id, acc.id, Code.CEILING, why)
        payer = self.vouchers[best] if best >= 0 else None
        kwh = None if est.energy_kwh is None else est.energy_kwh * view.site.pue
        return QuoteRow(
            offer.id, view.site.id, view.provider.id, acc.id, acc.origin, est.count,
            est.accelerator_hours, est.accelerator_hours_p10, est.accelerator_hours_p90,
            est.wall_hours, sized.length_s, cost, offer.currency, paid,
            payer.voucher_id if payer else None, payer.program.id if payer else None, rate,
            subsidy, net, kwh, start, finish, offer.price_fen_per_accel_hour, est.notes,
        )  # fmt: skip
