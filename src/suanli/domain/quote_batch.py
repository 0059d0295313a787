"""One quote's offers priced in arrays over an ``OfferTable`` (``domain.quote_vector``): each
step marks the offers it refuses with the step's code, in the order the per-offer loop checks,
and the rows and refusals are built when read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from fractions import Fraction
from functools import partial

import numpy as np
import numpy.typing as npt

from suanli.domain.compliance import Flag, exclusion
from suanli.domain.exchange import Busy, JobRequest, OfferRefusal, earliest_start
from suanli.domain.quote_lazy import Lazy
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
    Gate,
    OfferTable,
    _us,
    note_flags,
    reason_of,
)  # fmt: skip
from suanli.domain.registry import Tenant
from suanli.domain.subsidy_plan import VoucherView, _Subsidies, unpaid_code
from suanli.estimate.api import Infeasible
from suanli.rejection import Code

_SAFE = 2**62  # products below this stay exact in int64
_NONE = Fraction(0)
Mask = npt.NDArray[np.bool_]


class Batch:
    """The arrays of one quote; ``quote()`` runs the steps. Raises ``OverflowError`` where a
    figure would not stay exact in 64-bit integers (the caller then prices offer by offer)."""

    def __init__(
        self, request: JobRequest, table: OfferTable, gates: Sequence[Gate], tenant: Tenant,
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
        self.sized: list[_Sized | Infeasible | None] = [None] * len(table.slot_first)

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
        return Quote(r.id, r.objective, Lazy(len(order), lambda p: self.row(order[p], p)),
                     Lazy(len(refused), lambda p: self.refusal(refused[p])))  # fmt: skip

    def screen(self, flags: Mapping[str, Sequence[Flag]], strict: bool) -> None:
        ids = self.table.ids
        for oid, flagged in flags.items():
            j = ids.get(oid)
            if j is None or not flagged:
                continue
            hit = exclusion(flagged, self.tenant, paid_or_placed=strict)
            if hit is not None:
                self.stage[j], self.hits[j] = COMPLIANCE, hit
            else:
                self.noted[j] = flagged

    def gate(self) -> None:
        t = self.table
        self.mark(np.array([g.chip is not None for g in self.gates], bool)[t.pair], CHIP)
        if self.request.accelerators is not None:
            self.mark(self.request.accelerators > t.count, ASKED)
        self.mark(np.array([bool(g.unpaid) for g in self.gates], bool)[t.pair], UNPAID_GATE)

    def size(self) -> None:
        """Per slot: the estimate and, for each voucher, its fixed rate there (or per offer)."""
        t, k, nslots = self.table, len(self.vouchers), len(self.table.slot_first)
        self.infeasible = np.zeros(nslots, bool)
        self.hours = np.zeros(nslots, np.float64)
        self.length_us = np.zeros(nslots, np.int64)
        self.need = np.zeros(nslots, np.int64)
        self.kwh = np.full(nslots, np.nan)
        self.fixed = np.zeros((k, nslots), bool)
        self.dyn = np.zeros((k, nslots), bool)
        self.num = np.zeros((k, nslots), np.int64)
        self.den = np.ones((k, nslots), np.int64)
        for s in np.unique(t.slot[self.stage == ROW]).tolist():
            j = t.slot_first[s]
            sized, payers = self.pricer.slot(t.views[j], self.gates[t.pair[j]].acc)
            self.sized[s] = sized
            if isinstance(sized, Infeasible):
                self.infeasible[s] = True
                continue
            est = sized.est
            self.hours[s], self.need[s] = est.accelerator_hours, est.count
            self.length_us[s] = sized.length_s * 1_000_000
            if est.energy_kwh is not None:
                self.kwh[s] = est.energy_kwh
            for i, _vid, fixed, *_limits in payers:
                if fixed is None:
                    self.dyn[i, s] = True
                elif fixed[0]:
                    self.fixed[i, s], self.num[i, s], self.den[i, s] = True, fixed[2], fixed[3]

    def subsidise(self) -> None:
        """Each offer's cost and what each voucher pays on it; the payer is the first of the
        largest amounts, -1 in ``paid`` where a voucher does not pay."""
        t, st = self.table, self.table.slot
        self.mark(self.infeasible[st], ESTIMATE)
        live = self.stage == ROW
        product = self.hours[st] * t.price
        if live.any() and float(product[live].max()) >= _SAFE:
            raise OverflowError("cost beyond 64-bit integers")
        self.cost = np.where(live, np.rint(product), 0).astype(np.int64)
        k = len(self.vouchers)
        self.paid = np.full((k, len(st)), -1, np.int64)
        for i, v in enumerate(self.vouchers):
            self.pay(i, v, live)
        if k:
            self.best = self.paid.argmax(axis=0)
            self.best_fen = self.paid.max(axis=0)
            self.mark(self.best_fen < 0, UNPAID)
            self.best_fen = np.maximum(self.best_fen, 0)
        else:
            self.best = np.full(len(st), -1)
            self.best_fen = np.zeros(len(st), np.int64)
        self.net = self.cost - self.best_fen

    def pay(self, i: int, v: VoucherView, live: Mask) -> None:
        cap, face, stack_num, stack_den = self.pricer.limits[i]
        balance = max(v.balance_fen, 0)
        st = self.table.slot
        on = self.fixed[i][st] & live
        if on.any():
            cost, num, den = self.cost[on], self.num[i][st][on], self.den[i][st][on]
            if int(cost.max()) * max(int(num.max()), stack_num) >= _SAFE:
                raise OverflowError("subsidy beyond 64-bit integers")
            amount = cost * num // den
            if cap is not None:
                amount = np.minimum(amount, cap)
            if face is not None:
                amount = np.minimum(amount, face)
            self.paid[i, on] = np.minimum(
                np.minimum(amount, cost * stack_num // stack_den), balance
            )
        for j in np.flatnonzero(self.dyn[i][st] & live).tolist():
            sized = self.sized[st[j]]
            assert isinstance(sized, _Sized)
            c = int(self.cost[j])
            ok, _rate, num_, den_ = self.pricer.decide(
                i, self.table.views[j], self.gates[self.table.pair[j]].acc, sized, c
            )
            if ok:
                amount_ = c * num_ // den_
                if cap is not None and cap < amount_:
                    amount_ = cap
                if face is not None and face < amount_:
                    amount_ = face
                self.paid[i, j] = min(amount_, c * stack_num // stack_den, balance)

    def schedule(self) -> None:
        """The earliest start: the calendar for offers with reservations, else the later of
        now and the offer's start where the run fits before its end; then the deadline and
        the ceiling."""
        t, st = self.table, self.table.slot
        live = self.stage == ROW
        length = self.length_us[st]
        start = np.maximum(_us(self.now), t.from_us)
        fits = (self.need[st] <= t.count) & (start + length <= t.until_us)
        for oid, reservations in self.busy.items():
            j = t.ids.get(oid)
            if not reservations or j is None or not live[j]:
                continue
            sized = self.sized[st[j]]
            assert isinstance(sized, _Sized)
            offer = t.views[j].offer
            not_before = max(self.now, offer.available_from)
            when = earliest_start(offer.count, reservations, sized.est.count, sized.length,
                                  not_before, offer.available_until)  # fmt: skip
            fits[j] = when is not None
            if when is not None:
                self.starts[j] = when
                start[j] = _us(when)
        self.mark(~fits, WINDOW)
        self.finish = start + length
        r = self.request
        if r.deadline is not None:
            self.mark(self.finish > _us(r.deadline), DEADLINE)
        if r.max_net_fen is not None:
            self.mark(self.net > r.max_net_fen, CEILING)

    def order(self) -> list[int]:
        """The rows' offers in ``sort_key``'s order: its keys, then the offer id."""
        t = self.table
        idx = np.flatnonzero(self.stage == ROW)
        rank, net, finish = t.rank[idx], self.net[idx], self.finish[idx]
        if self.request.objective == "finish_time":
            keys: tuple[npt.NDArray[np.generic], ...] = (rank, net, finish)
        elif self.request.objective == "energy":
            kwh = self.kwh[t.slot[idx]] * t.pue[idx]
            keys = (rank, net, np.where(np.isnan(kwh), np.inf, kwh))
        else:
            keys = (rank, finish, net)
        out: list[int] = idx[np.lexsort(keys)].tolist()
        return out

    def start_of(self, j: int) -> datetime:
        found = self.starts.get(j)
        return (
            found if found is not None else max(self.now, self.table.views[j].offer.available_from)
        )

    def row(self, j: int, position: int) -> QuoteRow:
        view = self.table.views[j]
        offer, acc = view.offer, self.gates[self.table.pair[j]].acc
        sized = self.sized[self.table.slot[j]]
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
        offer, gate = view.offer, self.gates[self.table.pair[j]]
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
        sized = self.sized[self.table.slot[j]]
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
