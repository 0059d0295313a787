"""One quote's offers priced in arrays over an ``OfferTable`` (``domain.quote_vector``): each
step marks the offers it refuses with the step's code, in the order the per-offer loop checks,
and the rows and refusals are built when read."""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from datetime import datetime
from fractions import Fraction
from functools import partial
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from suanli.domain.compliance import Flag, exclusion
from suanli.domain.exchange import Busy, JobRequest, OfferRefusal, earliest_start
from suanli.domain.quote_lazy import Lazy
from suanli.domain.quote_payers import Estimates, Payers, Rates, present
from suanli.domain.quote_pricing import (
    Pricer,
    _Sized,
    estimate_refusal,
    late,
    no_window,
    over_ceiling,
)
from suanli.domain.quote_rows import Quote, QuoteRow
from suanli.domain.quote_vector import (
    ASKED,
    CEILING,
    CHIP,
    COMPLIANCE,
    DEADLINE,
    ESTIMATE,
    ROW,
    UNPAID,
    UNPAID_GATE,
    WINDOW,
    Gates,
    OfferTable,
    _us,
    note_flags,
    reason_of,
)  # fmt: skip
from suanli.domain.registry import Tenant
from suanli.domain.subsidy_plan import VoucherView, _Subsidies, unpaid_code
from suanli.estimate.api import Infeasible
from suanli.rejection import Code

_ACCELERATORS = operator.attrgetter("accelerators")
_SAFE = 2**62  # products below this stay exact in int64
_NONE = Fraction(0)
Mask = npt.NDArray[np.bool_]


def _screened(
    table: OfferTable, flags: Mapping[str, Sequence[Flag]], tenant: Tenant, strict: bool
) -> tuple[npt.NDArray[np.intp], dict[int, Flag], dict[int, Sequence[Flag]]]:
    """The offers a flag leaves out, with the flag, and the flagged offers it leaves in."""
    hits: dict[int, Flag] = {}
    noted: dict[int, Sequence[Flag]] = {}
    for oid, flagged in flags.items():
        j = table.ids.get(oid)
        if j is None or not flagged:
            continue
        hit = exclusion(flagged, tenant, paid_or_placed=strict)
        if hit is not None:
            hits[j] = hit
        else:
            noted[j] = flagged
    return np.array(sorted(hits), np.intp), hits, noted


class _Ranked:
    """Offers ``idx`` in ``np.lexsort(keys)`` order, read from the first: the first ``TOP`` are
    sorted among the offers whose primary key (the last) is at most the ``TOP``-th smallest,
    which hold them all; the whole order is sorted when a later place is read."""

    TOP = 16

    def __init__(self, idx: npt.NDArray[np.intp], keys: tuple[npt.NDArray[np.generic], ...]):
        self.idx, self.keys = idx, keys
        self.whole: list[int] | None = None
        self.top: list[int] = []
        if len(idx) > 2 * self.TOP:
            primary = keys[-1]
            bound = np.partition(primary, self.TOP - 1)[self.TOP - 1]
            near = np.flatnonzero(primary <= bound)
            self.top = idx[near[np.lexsort(tuple(k[near] for k in keys))][: self.TOP]].tolist()

    def __len__(self) -> int:
        return len(self.idx)

    def at(self, place: int) -> int:
        if place < len(self.top):
            return self.top[place]
        if self.whole is None:
            self.whole = self.idx[np.lexsort(self.keys)].tolist()
        return self.whole[place]


class Batch:
    """The arrays of one quote; ``quote()`` runs the steps. Raises ``OverflowError`` where a
    figure would not stay exact in 64-bit integers (the caller then prices offer by offer)."""

    def __init__(
        self, request: JobRequest, table: OfferTable, gates: Gates, tenant: Tenant,
        vouchers: Sequence[VoucherView], subsidies: _Subsidies, pricer: Pricer,
        busy: Mapping[str, Sequence[Busy]], now: datetime,
    ) -> None:  # fmt: skip
        self.request, self.table, self.gates, self.tenant = request, table, gates, tenant
        self.vouchers, self.subsidies, self.pricer = vouchers, subsidies, pricer
        self.busy, self.now = busy, now
        n = len(table.views)
        self.stage = np.zeros(n, np.int8)
        self.hits: dict[int, Flag] = {}
        self.noted: dict[int, Sequence[Flag]] = {}
        self.reasons: dict[tuple[str, str, str], str] = {}
        self.starts: dict[int, datetime] = {}
        self.sized: list[_Sized | Infeasible | None] = [None] * len(table.size_first)

    def mark(self, mask: Mask, code: int) -> None:
        self.stage[mask & (self.stage == ROW)] = code

    def quote(self, flags: Mapping[str, Sequence[Flag]], strict: bool, explain_top: int) -> Quote:
        self.screen(flags, strict)
        self.gate()
        self.size()
        self.subsidise()
        self.schedule()
        order = self.order()
        refused = np.flatnonzero(self.stage != ROW).tolist()
        self.explain_top = explain_top
        r = self.request
        return Quote(r.id, r.objective, Lazy(len(order), lambda p: self.row(order.at(p), p)),
                     Lazy(len(refused), lambda p: self.refusal(refused[p])))  # fmt: skip

    def screen(self, flags: Mapping[str, Sequence[Flag]], strict: bool) -> None:
        if isinstance(flags, MappingProxyType):  # read-only: its verdicts kept for the tenant
            key, owners = ("screen", strict), (flags, self.tenant)
            out, self.hits, self.noted = self.table.kept(
                key, owners, partial(_screened, self.table, flags, self.tenant, strict)
            )
        else:
            out, self.hits, self.noted = _screened(self.table, flags, self.tenant, strict)
        self.stage[out] = COMPLIANCE

    def gate(self) -> None:
        t = self.table
        self.mark(self.gates.chip[t.pair], CHIP)
        if self.request.accelerators is not None:
            self.mark(self.request.accelerators > t.count, ASKED)
        self.mark(self.gates.unpaid[t.pair], UNPAID_GATE)

    def size(self) -> None:
        """Per (chip, offer size): the estimate, what follows from it, and the refusals."""
        t = self.table
        # per size: infeasible, hours, accelerators, length in microseconds, kWh at PUE 1
        figures: list[tuple[bool, float, int, int, float]] = [(False, 0.0, 0, 0, np.nan)] * len(
            t.size_first
        )
        seen: dict[int, int] = {}  # sizes share estimates: each one's place in ``first``
        first: list[int] = []  # a size of each estimate
        estimate_of_size = [-1] * len(t.size_first)
        for z in np.flatnonzero(present(t.size[self.stage == ROW], len(t.size_first))).tolist():
            acc = self.gates.each[t.size_pair[z]].acc
            sized = self.sized[z] = self.pricer.size(acc, t.size_count[z])
            e = seen.get(id(sized))
            if e is None:
                e = seen[id(sized)] = len(first)
                first.append(z)
                if isinstance(sized, Infeasible):
                    figures[z] = (True, 0.0, 0, 0, np.nan)
                else:
                    est = sized.est
                    kwh = np.nan if est.energy_kwh is None else est.energy_kwh
                    figures[z] = (False, est.accelerator_hours, est.count, sized.length_s * 10**6,
                                  kwh)  # fmt: skip
            else:
                figures[z] = figures[first[e]]
            estimate_of_size[z] = e
        self.estimates = Estimates(first, np.array(estimate_of_size, np.intp)[t.size])
        infeasible, hours, need, length_us, kwh_ = zip(*figures, strict=True)
        at = t.size
        self.mark(np.array(infeasible, bool)[at], ESTIMATE)
        self.hours = np.array(hours, np.float64)[at]
        self.need = np.array(need, np.int64)[at]
        self.length_us = np.array(length_us, np.int64)[at]
        self.kwh = np.array(kwh_, np.float64)[at]

    def subsidise(self) -> None:
        """Each offer's cost and what each voucher pays on it; the payer is the first of the
        largest amounts, -1 in ``paid`` where a voucher does not pay."""
        t = self.table
        live = self.stage == ROW
        product = self.hours * t.price
        if live.any() and float(product[live].max()) >= _SAFE:
            raise OverflowError("cost beyond 64-bit integers")
        self.cost = np.where(live, np.rint(product), 0).astype(np.int64)
        k, n = len(self.vouchers), len(t.views)
        self.paid = np.full((k, n), -1, np.int64)
        payers = Payers(t, self.gates, self.sized, self.estimates, self.subsidies, self.pricer)
        for i, v in enumerate(self.vouchers):
            self.pay(i, v, payers.rates(i, live))
        if k:
            self.best = self.paid.argmax(axis=0)
            self.best_fen = self.paid.max(axis=0)
            self.mark(self.best_fen < 0, UNPAID)
            self.best_fen = np.maximum(self.best_fen, 0)
        else:
            self.best = np.full(n, -1)
            self.best_fen = np.zeros(n, np.int64)
        self.net = self.cost - self.best_fen

    def pay(self, i: int, v: VoucherView, rates: Rates) -> None:
        cap, face, stack_num, stack_den = self.pricer.limits[i]
        balance = max(v.balance_fen, 0)
        on = rates.fixed
        if on.any():  # over every offer (cost 0 off the live ones), kept where ``on``
            cost = self.cost
            if int(cost.max()) * max(int(rates.num.max()), stack_num) >= _SAFE:
                raise OverflowError("subsidy beyond 64-bit integers")
            amount = cost * rates.num // rates.den
            if cap is not None:
                amount = np.minimum(amount, cap)
            if face is not None:
                amount = np.minimum(amount, face)
            amount = np.minimum(np.minimum(amount, cost * stack_num // stack_den), balance)
            self.paid[i] = np.where(on, amount, -1)
        for j in np.flatnonzero(rates.dyn).tolist():
            sized = self.sized[self.table.size[j]]
            assert isinstance(sized, _Sized)
            c = int(self.cost[j])
            ok, _rate, num_, den_ = self.pricer.decide(
                i, self.table.views[j], self.gates.each[self.table.pair[j]].acc, sized, c
            )
            if ok:
                amount_ = c * num_ // den_
                if cap is not None and cap < amount_:
                    amount_ = cap
                if face is not None and face < amount_:
                    amount_ = face
                self.paid[i, j] = min(amount_, c * stack_num // stack_den, balance)

    def schedule(self) -> None:
        """The earliest start: the later of now and the offer's start where the run fits
        before its end and beside all of the offer's reservations at once, else the calendar
        (``earliest_start``); then the deadline and the ceiling."""
        t = self.table
        live = self.stage == ROW
        start = np.maximum(_us(self.now), t.from_us)
        fits = (self.need <= t.count) & (start + self.length_us <= t.until_us)
        ids, booked, reserved = t.ids, [], []
        for oid, reservations in self.busy.items():
            j = ids.get(oid)
            if reservations and j is not None:
                booked.append(j)
                reserved.append(sum(map(_ACCELERATORS, reservations)))
        at = np.array(booked, np.intp)
        # where the reservations' peak (at most their sum) leaves room, no later start is earlier
        crowded = at[live[at] & (self.need[at] + np.array(reserved, np.int64) > t.count[at])]
        for j in crowded.tolist():
            view = t.views[j]
            reservations = self.busy[view.offer.id]
            sized = self.sized[t.size[j]]
            assert isinstance(sized, _Sized)
            offer = view.offer
            not_before = max(self.now, offer.available_from)
            when = earliest_start(offer.count, reservations, sized.est.count, sized.length,
                                  not_before, offer.available_until)  # fmt: skip
            fits[j] = when is not None
            if when is not None:
                self.starts[j] = when
                start[j] = _us(when)
        self.mark(~fits, WINDOW)
        self.finish = start + self.length_us
        r = self.request
        if r.deadline is not None:
            self.mark(self.finish > _us(r.deadline), DEADLINE)
        if r.max_net_fen is not None:
            self.mark(self.net > r.max_net_fen, CEILING)

    def order(self) -> _Ranked:
        """The rows' offers in ``sort_key``'s order: its keys, then the offer id."""
        t = self.table
        idx = np.flatnonzero(self.stage == ROW)
        rank, net, finish = t.rank[idx], self.net[idx], self.finish[idx]
        if self.request.objective == "finish_time":
            keys: tuple[npt.NDArray[np.generic], ...] = (rank, net, finish)
        elif self.request.objective == "energy":
            kwh = self.kwh[idx] * t.pue[idx]
            keys = (rank, net, np.where(np.isnan(kwh), np.inf, kwh))
        else:
            keys = (rank, finish, net)
        return _Ranked(idx, keys)

    def start_of(self, j: int) -> datetime:
        found = self.starts.get(j)
        return (
            found if found is not None else max(self.now, self.table.views[j].offer.available_from)
        )

    def row(self, j: int, position: int) -> QuoteRow:
        view = self.table.views[j]
        offer, acc = view.offer, self.gates.each[self.table.pair[j]].acc
        sized = self.sized[self.table.size[j]]
        assert isinstance(sized, _Sized)
        est, cost = sized.est, int(self.cost[j])
        paid = {v.voucher_id: int(self.paid[i, j]) for i, v in enumerate(self.vouchers)
                if self.paid[i, j] >= 0}  # fmt: skip
        payer = self.vouchers[int(self.best[j])] if paid else None
        rate = self.pricer.decide(int(self.best[j]), view, acc, sized, cost)[1] if paid else _NONE
        start = self.start_of(j)
        kwh = None if est.energy_kwh is None else est.energy_kwh * view.site.pue
        row = QuoteRow(
            offer.id, view.site.id, view.provider.id, acc.id, acc.origin, est.count,
            est.accelerator_hours, est.accelerator_hours_p10, est.accelerator_hours_p90,
            est.wall_hours, sized.length_s, cost, offer.currency, paid,
            payer.voucher_id if payer else None, payer.program.id if payer else None, rate,
            int(self.best_fen[j]), int(self.net[j]), kwh, start, start + sized.length,
            offer.price_fen_per_accel_hour, est.notes,
        )  # fmt: skip
        if j in self.noted:
            note_flags(row, self.noted[j], self.tenant, self.reasons)
        if payer is not None and position < self.explain_top:
            row.explain = partial(self.subsidies.explain, payer.program, view, acc,
                                  est.accelerator_hours, cost)  # fmt: skip
        return row

    def refusal(self, j: int) -> OfferRefusal:
        stage, view = int(self.stage[j]), self.table.views[j]
        offer, gate = view.offer, self.gates.each[self.table.pair[j]]
        if stage == COMPLIANCE:
            hit = self.hits[j]
            why = reason_of(self.reasons, hit)
            return OfferRefusal(offer.id, offer.accelerator_id, Code.COMPLIANCE, why, hit.rule.id)
        if stage == CHIP:
            assert gate.chip is not None
            return OfferRefusal(offer.id, gate.acc.id, *gate.chip)
        if stage == ASKED:
            why = f"{self.request.accelerators} accelerators asked; the offer has {offer.count}"
            return OfferRefusal(offer.id, gate.acc.id, Code.CAPACITY, why)
        if stage == UNPAID_GATE:
            return OfferRefusal(offer.id, gate.acc.id, unpaid_code(gate.unpaid), gate.unpaid)
        sized = self.sized[self.table.size[j]]
        if isinstance(sized, Infeasible):
            return estimate_refusal(offer.id, gate.acc.id, sized)
        assert sized is not None and stage != ESTIMATE
        if stage == UNPAID:
            return self.pricer.unpaid(
                view, gate.acc, sized.est.accelerator_hours, int(self.cost[j])
            )
        if stage == WINDOW:
            why = no_window(sized.est.count, gate.acc, sized.length_s, offer.available_until)
            return OfferRefusal(offer.id, gate.acc.id, Code.CAPACITY, why)
        if stage == DEADLINE:
            assert self.request.deadline is not None
            why = late(self.start_of(j) + sized.length, self.request.deadline)
            return OfferRefusal(offer.id, gate.acc.id, Code.DEADLINE, why)
        assert stage == CEILING and self.request.max_net_fen is not None
        why = over_ceiling(int(self.net[j]), self.request.max_net_fen, offer.currency)
        return OfferRefusal(offer.id, gate.acc.id, Code.CEILING, why)
