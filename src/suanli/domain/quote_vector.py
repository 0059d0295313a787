"""A quote over many offers in arrays: the same rows, order and refusals as the per-offer loop
of ``domain.quotes`` (``tests/unit/test_quote_pricing.py`` compares them), with the Python work
done per (provider, chip) and per (chip, size), not per offer.

What an offer set alone fixes (each offer's price, count, dates, PUE, currency, its (provider,
chip) and (chip, size) keys, its id's place in sorted order) is built once and kept while the
same offer objects are quoted again (``table_of``; offers are frozen, so the same objects mean
the same figures), and so is what quotes over it decide alike (``OfferTable.kept``): the gates
per (provider, chip) for what a request and its vouchers say, each program's decisions per
(provider, chip) (``quote_payers``), a read-only screening's verdicts for a tenant. Per quote:
the estimate per (chip, size) (``Pricer.size``), each offer's cost (``round`` of hours × price,
as ``Pricer.price``), every voucher's amount (floor(cost × num / den), the cap, face value,
stacking limit and balance), the payer (the first of the largest), the start of an offer whose
reservations leave room beside the run (the later of now and its start, if the run fits before
its end; the calendar otherwise), the deadline and ceiling as masks, and the order by
``np.lexsort`` with the sort keys' ties (its first rows from a partition). Rows and refusals
are built when read (``Lazy``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from suanli.domain.catalog import Accelerator, Catalog
from suanli.domain.compliance import Flag
from suanli.domain.programs import Program
from suanli.domain.quote_rows import QuoteRow
from suanli.domain.registry import Tenant
from suanli.domain.subsidy_plan import OfferView, VoucherView, _Subsidies
from suanli.rejection import Code

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
I64 = npt.NDArray[np.int64]
T = TypeVar("T")

# Why an offer is refused, in the order the per-offer loop checks (0: priced into a row).
ROW, COMPLIANCE, CHIP, ASKED, UNPAID_GATE, ESTIMATE, UNPAID, WINDOW, DEADLINE, CEILING = range(10)


def _us(t: datetime) -> int:
    return (t - _EPOCH) // _US


@dataclass(frozen=True, slots=True)
class OfferTable:
    """What an offer set alone fixes, in arrays indexed by the offer's place."""

    views: tuple[OfferView, ...]
    ids: dict[str, int]
    price: I64
    count: I64
    from_us: I64
    until_us: I64
    pue: npt.NDArray[np.float64]
    currency: npt.NDArray[np.str_]
    pair: npt.NDArray[np.intp]  # index into pair_first: one per (provider, chip)
    pair_first: tuple[int, ...]  # an offer of each pair
    size: npt.NDArray[np.intp]  # index into size_first: one per (chip, offer size)
    size_first: tuple[int, ...]
    size_pair: tuple[int, ...]  # the pair of each size's first offer
    size_count: tuple[int, ...]  # each size's accelerators
    rank: npt.NDArray[np.intp]  # the offer id's place in sorted order
    # What quotes over this table decide once and share (``kept``): the gates, the vouchers'
    # decisions per (provider, chip), the flags' verdicts, the currency masks.
    memo: dict[tuple[Any, ...], tuple[tuple[object, ...], Any]] = field(default_factory=dict)

    def kept(self, key: tuple[Any, ...], owners: tuple[object, ...], make: Callable[[], T]) -> T:
        """``make()`` once per ``key`` and per ``owners``, the objects it reads that are
        compared by identity (kept with the value, so that their ids are not reused)."""
        full = (*key, *map(id, owners))
        found = self.memo.get(full)
        if found is None or any(map(operator.is_not, found[0], owners)):
            if len(self.memo) > 1024:
                self.memo.clear()
            found = self.memo[full] = (owners, make())
        value: T = found[1]
        return value

    def in_currency(self, currency: str) -> npt.NDArray[np.bool_]:
        """Which offers are priced in ``currency``."""
        return self.kept(("currency", currency), (), lambda: self.currency == currency)


_LAST: list[OfferTable] = []


# Decisions kept across quotes for one tenant and day, while the programs and the catalog are
# the same objects: what they read of an offer (provider, chip, hours, amount) is in their keys.
_KEPT: dict[tuple[Any, ...], tuple[dict[str, Program], Catalog, _Subsidies]] = {}
_KEPT_DECISIONS = 50_000  # past this many memoised decisions, start afresh


def kept_subsidies(
    tenant: Tenant, day: date, fast: bool, vouchers: Sequence[VoucherView], catalog: Catalog
) -> _Subsidies:
    """The tenant's ``_Subsidies`` for the day, shared by its quotes while every program seen
    under an id and the catalog are the objects it was made with."""
    try:
        key = (tenant, day, fast)
        found = _KEPT.get(key)
    except TypeError:  # an unhashable field: nothing kept
        return _Subsidies(tenant, day, fast)
    if found is not None:
        programs, kept_catalog, subsidies = found
        same = kept_catalog is catalog and len(subsidies.memo) < _KEPT_DECISIONS
        if same and all(programs.setdefault(v.program.id, v.program) is v.program
                        for v in vouchers):  # fmt: skip
            return subsidies
    if len(_KEPT) > 64:
        _KEPT.clear()
    subsidies = _Subsidies(tenant, day, fast)
    _KEPT[key] = ({v.program.id: v.program for v in vouchers}, catalog, subsidies)
    return subsidies


def table_of(offers: Sequence[OfferView]) -> OfferTable | None:
    """The table of these offers, kept for the next quote over the same objects; None where a
    date has no time zone (the per-offer loop compares such dates as they are)."""
    if _LAST:
        last = _LAST[0]
        if len(last.views) == len(offers) and all(map(operator.is_, last.views, offers)):
            return last
    views = tuple(offers)
    if any(v.offer.available_from.tzinfo is None or v.offer.available_until.tzinfo is None
           for v in views):  # fmt: skip
        return None
    pairs: dict[tuple[str, str], int] = {}
    sizes: dict[tuple[str, int], int] = {}
    pair, size = [], []
    for v in views:
        o = v.offer
        pair.append(pairs.setdefault((v.provider.id, o.accelerator_id), len(pairs)))
        size.append(sizes.setdefault((o.accelerator_id, o.count), len(sizes)))
    firsts = {p: j for j, p in reversed(list(enumerate(pair)))}
    size_firsts = {s: j for j, s in reversed(list(enumerate(size)))}
    ranks = np.empty(len(views), np.intp)
    ranks[np.argsort(np.array([v.offer.id for v in views], dtype=str), kind="stable")] = (
        np.arange(len(views))
    )  # fmt: skip
    table = OfferTable(
        views, {v.offer.id: j for j, v in enumerate(views)},
        np.array([v.offer.price_fen_per_accel_hour for v in views], np.int64),
        np.array([v.offer.count for v in views], np.int64),
        np.array([_us(v.offer.available_from) for v in views], np.int64),
        np.array([_us(v.offer.available_until) for v in views], np.int64),
        np.array([v.site.pue for v in views], np.float64),
        np.array([v.offer.currency for v in views], dtype=str),
        np.array(pair, np.intp), tuple(firsts[p] for p in range(len(pairs))),
        np.array(size, np.intp), tuple(size_firsts[s] for s in range(len(sizes))),
        tuple(pair[size_firsts[s]] for s in range(len(sizes))),
        tuple(views[size_firsts[s]].offer.count for s in range(len(sizes))), ranks,
    )  # fmt: skip
    _LAST[:] = [table]
    return table


@dataclass(frozen=True, slots=True)
class Gate:
    """What a quote decides once per (provider, chip): the chip, why the request refuses it,
    and why no voucher can pay there (checked after the offer's size, as before sizing)."""

    acc: Accelerator
    chip: tuple[Code, str] | None  # (code, reason)
    unpaid: str


@dataclass(frozen=True, slots=True)
class Gates:
    """The gate of each (provider, chip) of a table, in its order, and where they refuse."""

    each: tuple[Gate, ...]
    chip: npt.NDArray[np.bool_]  # per pair: the request refuses the chip
    unpaid: npt.NDArray[np.bool_]  # per pair: no voucher's program can pay there

    @classmethod
    def of(cls, gates: Sequence[Gate]) -> Gates:
        return cls(
            tuple(gates), np.array([g.chip is not None for g in gates], bool),
            np.array([bool(g.unpaid) for g in gates], bool),
        )  # fmt: skip


def reason_of(reasons: dict[tuple[str, str, str], str], flag: Flag) -> str:
    """``flag.refusal_reason()``: it reads only the rule, the chip and the site."""
    key = (flag.rule.id, flag.accelerator_id, flag.where)
    found = reasons.get(key)
    if found is None:
        found = reasons[key] = flag.refusal_reason()
    return found


def note_flags(
    row: QuoteRow, flagged: Sequence[Flag], tenant: Tenant, reasons: dict[tuple[str, str, str], str]
) -> None:
    """Flags that leave the offer in: said on the row, rule by rule."""
    shown = [f for f in flagged if f.rule.touches(tenant) and f.status != "cleared"]
    row.compliance = tuple(f.rule.id for f in shown)
    row.notes = row.notes + tuple(f"compliance: {reason_of(reasons, f)}" for f in shown)
