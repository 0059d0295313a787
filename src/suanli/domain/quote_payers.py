"""Which of a quote's vouchers may pay on each offer, and at what rate, in arrays over an
``OfferTable``: what ``Pricer.slot`` decides per (provider, chip, size), decided per the keys
the program's rules read.

- A program whose rules read nothing of an offer's contract decides once per (provider, chip):
  its decisions are kept on the table for the tenant's day (``_Subsidies`` is the tenant's and
  the day's) and gathered per offer.
- A program whose per-offer rules read of the contract only its hours (``_Plan.shared``, not
  the amount) has one verdict per distinct hours, so per (chip, size) in a quote; its decision
  per (provider, chip) for each verdict is kept the same way.
- Any other program is decided per (provider, chip, size) (``Pricer.decide``), and one whose
  rules read the amount, per offer (``dyn``: ``quote_batch`` decides those as it pays).

A voucher pays only on offers in its own and its program's currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from suanli.domain.quote_pricing import Pricer, _Sized
from suanli.domain.quote_vector import Gates, OfferTable
from suanli.domain.subsidy_plan import _Plan, _Subsidies
from suanli.estimate.api import Infeasible

Mask = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Rates:
    """One voucher on each offer of a table."""

    fixed: Mask  # decided, and eligible at the rate num / den
    num: I64
    den: I64
    dyn: Mask  # decided per offer: the program's rules read the amount


@dataclass(frozen=True, slots=True)
class _PairDecisions:
    """One program's decision at each (provider, chip) of a table, for one verdict of its
    per-offer rules; filled as quotes need pairs (``known``)."""

    known: Mask
    ok: Mask
    num: I64
    den: I64


def present(index: npt.NDArray[np.intp], n: int) -> Mask:
    """Which of ``0 .. n-1`` occur in ``index`` (``np.unique`` without its sort)."""
    out = np.zeros(n, bool)
    out[index] = True
    return out


@dataclass(frozen=True, slots=True)
class Estimates:
    """The quote's distinct estimates: a size of each, and each offer's (-1: not sized)."""

    first_size: list[int]
    of_offer: npt.NDArray[np.intp]


class Payers:
    """The vouchers' rates for one quote over ``table``, given each size's estimate."""

    def __init__(
        self, table: OfferTable, gates: Gates, sized: Sequence[_Sized | Infeasible | None],
        estimates: Estimates, subsidies: _Subsidies, pricer: Pricer,
    ) -> None:  # fmt: skip
        self.table, self.gates, self.sized, self.estimates = table, gates, sized, estimates
        self.subsidies, self.pricer = subsidies, pricer

    def rates(self, i: int, live: Mask) -> Rates:
        """Voucher ``i`` on the ``live`` offers (nothing elsewhere)."""
        t, v, plan = self.table, self.pricer.vouchers[i], self.pricer.plans[i]
        n = len(t.views)
        none = np.zeros(n, bool)
        if v.program.currency != v.currency:
            return Rates(none, np.zeros(n, np.int64), np.ones(n, np.int64), none)
        pays = live & t.in_currency(v.currency)
        if plan.reads_amount:
            return Rates(none, np.zeros(n, np.int64), np.ones(n, np.int64), pays)
        if not plan.per_offer:
            d = self.per_pair(i, plan, None, pays)
            ok, num, den = d.ok[t.pair], d.num[t.pair], d.den[t.pair]
        elif plan.shared:
            ok, num, den = self.per_verdict(i, plan, pays)
        else:
            ok, num, den = self.per_pair_and_size(i, pays)
        return Rates(pays & ok, num, den, none)

    def per_pair(
        self, i: int, plan: _Plan, verdicts: tuple[bool, ...] | None, pays: Mask
    ) -> _PairDecisions:
        """The program's decisions per (provider, chip) under ``verdicts``, kept on the table
        for the tenant's day; the pairs of ``pays`` not yet decided are decided now, each on
        its first such offer (its hours the size's, which the verdicts hold for)."""
        t, program = self.table, self.pricer.vouchers[i].program
        npairs = len(t.pair_first)
        d = t.kept(
            ("pays", program.id, verdicts), (self.subsidies, program),
            lambda: _PairDecisions(np.zeros(npairs, bool), np.zeros(npairs, bool),
                                   np.zeros(npairs, np.int64), np.ones(npairs, np.int64)),
        )  # fmt: skip
        todo = present(t.pair[pays], npairs) & ~d.known
        if not todo.any():
            return d
        at = np.flatnonzero(pays)
        for p in np.flatnonzero(todo).tolist():
            j = int(at[np.argmax(t.pair[at] == p)])  # the pair's first offer of ``pays``
            sized = self.sized[int(t.size[j])]
            assert isinstance(sized, _Sized)
            view, acc = t.views[j], self.gates.each[p].acc
            cost = sized.est.cost_fen_at(view.offer.price_fen_per_accel_hour)
            ok, _rate, num, den = self.pricer.decide(i, view, acc, sized, cost)
            d.ok[p], d.num[p], d.den[p], d.known[p] = ok, num, den, True
        return d

    def per_verdict(self, i: int, plan: _Plan, pays: Mask) -> tuple[Mask, I64, I64]:
        """A program whose per-offer rules read only the hours: their verdicts per size (a
        class per distinct verdict), then the decisions per (provider, chip) for each class."""
        t = self.table
        program = self.pricer.vouchers[i].program
        classes: dict[tuple[bool, ...], int] = {}
        firsts, of_offer = self.estimates.first_size, self.estimates.of_offer
        class_of = np.zeros(len(firsts), np.intp)  # per estimate
        for e in np.flatnonzero(present(of_offer[pays], len(firsts))).tolist():
            z = firsts[e]
            sized = self.sized[z]
            assert isinstance(sized, _Sized)
            j = t.size_first[z]
            hours = sized.est.accelerator_hours
            acc = self.gates.each[int(t.pair[j])].acc
            verdicts = self.subsidies.verdicts(program, plan, t.views[j], acc, hours, 0)
            class_of[e] = classes.setdefault(verdicts, len(classes))
        cls = class_of[of_offer]
        decisions = [self.per_pair(i, plan, v, pays & (cls == c)) for v, c in classes.items()]
        if len(decisions) == 1:
            d = decisions[0]
            return d.ok[t.pair], d.num[t.pair], d.den[t.pair]
        if not decisions:
            n = len(t.views)
            return np.zeros(n, bool), np.zeros(n, np.int64), np.ones(n, np.int64)
        at = (cls, t.pair)
        return (np.stack([d.ok for d in decisions])[at], np.stack([d.num for d in decisions])[at],
                np.stack([d.den for d in decisions])[at])  # fmt: skip

    def per_pair_and_size(self, i: int, pays: Mask) -> tuple[Mask, I64, I64]:
        """Any other program: decided once per (provider, chip, size) of ``pays``."""
        t = self.table
        n = len(t.views)
        ok, num, den = np.zeros(n, bool), np.zeros(n, np.int64), np.ones(n, np.int64)
        at = np.flatnonzero(pays)
        keys = t.pair[at] * len(t.size_first) + t.size[at]
        _unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        got = []
        for j in at[first].tolist():
            sized = self.sized[int(t.size[j])]
            assert isinstance(sized, _Sized)
            view, acc = t.views[j], self.gates.each[int(t.pair[j])].acc
            cost = sized.est.cost_fen_at(view.offer.price_fen_per_accel_hour)
            got.append(self.pricer.decide(i, view, acc, sized, cost))
        if got:
            ok[at] = np.array([g[0] for g in got], bool)[inverse]
            num[at] = np.array([g[2] for g in got], np.int64)[inverse]
            den[at] = np.array([g[3] for g in got], np.int64)[inverse]
        return ok, num, den
