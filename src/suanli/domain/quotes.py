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
is decided once too (``Gate``), so the many offers refused outright cost a dict lookup each;
the offers that pass are priced by ``quote_pricing.Pricer``, which shares the estimate and the
vouchers' decisions between offers of one provider, chip and size; lines are written only for
the top rows.

Compliance: the flags on each offer (``domain.compliance``) are decided before the quote, once
per offer; an offer a flag excludes is refused with the rule's id and source (code
``compliance``), and a flag that excludes nothing here is a note on the row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial

from suanli.domain.catalog import Accelerator, Catalog
from suanli.domain.compliance import Flag, exclusion
from suanli.domain.exchange import Busy, JobRequest, OfferRefusal
from suanli.domain.quote_batch import Batch
from suanli.domain.quote_pricing import Pricer, price_offer
from suanli.domain.quote_rows import Quote as Quote
from suanli.domain.quote_rows import QuoteRow as QuoteRow
from suanli.domain.quote_rows import duration_s as duration_s
from suanli.domain.quote_rows import sort_key as sort_key
from suanli.domain.quote_vector import (
    Gate,
    Gates,
    OfferTable,
    kept_subsidies,
    note_flags,
    reason_of,
    table_of,
)  # fmt: skip
from suanli.domain.registry import Tenant
from suanli.domain.subsidy_plan import OfferView, VoucherView, _Subsidies, unpaid_code
from suanli.estimate.mfu import MfuModel
from suanli.rejection import Code

EXPLAIN_TOP = 5  # rows that carry the subsidy's full explanation

# The quote itself.


def _gate(
    request: JobRequest,
    view: OfferView,
    acc: Accelerator,
    vouchers: Sequence[VoucherView],
    subsidies: _Subsidies,
    screen: bool,
) -> Gate:
    if acc.origin not in request.allowed_origins:
        return Gate(acc, (Code.ORIGIN, f"{acc.model} is {acc.origin}; the request allows only "
                           + ", ".join(sorted(request.allowed_origins))), "")  # fmt: skip
    if acc.is_export_controlled and not request.allow_export_controlled:
        return Gate(acc, (Code.EXPORT_CONTROLLED, f"{acc.model} is export-controlled "
                           f"({acc.export_control.status}); the request refuses such chips"),
                     "")  # fmt: skip
    if screen:  # refuse unaccredited offers before estimating on them
        why = [subsidies.blocked(v, view, acc) for v in vouchers]
        if all(why):
            return Gate(acc, None, "no voucher's program accepts this offer: " + " | ".join(why))
    return Gate(acc, None, "")


def _gates(
    request: JobRequest, table: OfferTable, catalog: Catalog, vouchers: Sequence[VoucherView],
    subsidies: _Subsidies, screen: bool,
) -> Gates:  # fmt: skip
    """The gate of each (provider, chip) of the table, in its order."""
    out = []
    for j in table.pair_first:
        view = table.views[j]
        acc = catalog.get(view.offer.accelerator_id)
        out.append(_gate(request, view, acc, vouchers, subsidies, screen))
    return Gates.of(out)


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
    arrays: bool = True,
) -> Quote:
    """The quote over already-loaded offers, vouchers and reservations, with the catalog and
    the utilisation model given (no I/O). ``flags`` are the offers' compliance flags; a flag
    needing evidence excludes its offer when vouchers pay or the quote is for ``placing``.
    ``arrays``: price in arrays (``quote_batch``) where it applies; False prices offer by offer."""
    flags = flags or {}
    strict = bool(vouchers) or placing
    subsidies = kept_subsidies(tenant, now.date(), fast_subsidy, vouchers, catalog)
    screen = bool(vouchers) and all(subsidies.plan(v.program) is not None for v in vouchers)
    pricer = None
    if fast_subsidy and Pricer.applies(request, vouchers, subsidies):
        pricer = Pricer(request, vouchers, subsidies, busy, now, model)
    if arrays and pricer is not None and now.tzinfo is not None:
        offers = offers if isinstance(offers, Sequence) else list(offers)
        table = table_of(offers)
        if table is not None:
            said = (request.allowed_origins, request.allow_export_controlled, screen,
                   tuple((v.program.id, v.currency) for v in vouchers))  # fmt: skip
            make = partial(_gates, request, table, catalog, vouchers, subsidies, screen)
            found = table.kept(("gates", *said), (subsidies, catalog), make)
            batch = Batch(request, table, found, tenant, vouchers, subsidies, pricer, busy, now)
            try:
                return batch.quote(flags, strict, explain_top)
            except OverflowError:  # figures beyond 64-bit integers: priced offer by offer
                pass
    by_offer = _ByOffer(request, tenant, vouchers, subsidies, screen, strict, catalog)
    for view in offers:
        by_offer.add(view, flags.get(view.offer.id), pricer, busy, now, model)
    rows = by_offer.rows
    rows.sort(key=sort_key(request.objective))
    _explain(rows[:explain_top], by_offer.priced, vouchers, subsidies, catalog)
    return Quote(request.id, request.objective, rows, by_offer.refused)


class _ByOffer:
    """The quote priced offer by offer: the reference path, and the one for figures past 64-bit
    integers or dates without a time zone."""

    def __init__(
        self, request: JobRequest, tenant: Tenant, vouchers: Sequence[VoucherView],
        subsidies: _Subsidies, screen: bool, strict: bool, catalog: Catalog,
    ) -> None:  # fmt: skip
        self.request, self.tenant, self.vouchers = request, tenant, vouchers
        self.subsidies, self.screen, self.strict, self.catalog = subsidies, screen, strict, catalog
        self.gates: dict[tuple[str, str], Gate] = {}
        self.priced: dict[str, OfferView] = {}
        self.rows: list[QuoteRow] = []
        self.refused: list[OfferRefusal] = []
        self.reasons: dict[tuple[str, str, str], str] = {}  # a flag's text per (rule, chip, site)

    def _gate_of(self, view: OfferView) -> Gate:
        key = (view.provider.id, view.offer.accelerator_id)
        gate = self.gates.get(key)
        if gate is None:
            acc = self.catalog.get(view.offer.accelerator_id)
            gate = self.gates[key] = _gate(
                self.request, view, acc, self.vouchers, self.subsidies, self.screen
            )
        return gate

    def add(
        self, view: OfferView, flagged: Sequence[Flag] | None, pricer: Pricer | None,
        busy: Mapping[str, Sequence[Busy]], now: datetime, model: MfuModel,
    ) -> None:  # fmt: skip
        offer, asked = view.offer, self.request.accelerators
        if flagged:
            hit = exclusion(flagged, self.tenant, paid_or_placed=self.strict)
            if hit is not None:
                why = reason_of(self.reasons, hit)
                self.refused.append(OfferRefusal(offer.id, offer.accelerator_id, Code.COMPLIANCE,
                                                 why, hit.rule.id))  # fmt: skip
                return
        gate = self._gate_of(view)
        if gate.chip is not None:
            self.refused.append(OfferRefusal(offer.id, gate.acc.id, *gate.chip))
        elif asked is not None and asked > offer.count:
            why = f"{asked} accelerators asked; the offer has {offer.count}"
            self.refused.append(OfferRefusal(offer.id, gate.acc.id, Code.CAPACITY, why))
        elif gate.unpaid:
            code = unpaid_code(gate.unpaid)
            self.refused.append(OfferRefusal(offer.id, gate.acc.id, code, gate.unpaid))
        else:
            if pricer is not None:
                out = pricer.price(view, gate.acc)
            else:
                out = price_offer(self.request, view, gate.acc, self.vouchers, self.subsidies,
                                  busy, now, model)  # fmt: skip
            if isinstance(out, OfferRefusal):
                self.refused.append(out)
                return
            if flagged:
                note_flags(out, flagged, self.tenant, self.reasons)
            self.rows.append(out)
            self.priced[offer.id] = view


def _explain(
    rows: Sequence[QuoteRow],
    priced: Mapping[str, OfferView],
    vouchers: Sequence[VoucherView],
    subsidies: _Subsidies,
    catalog: Catalog,
) -> None:
    """Lines only for the rows a reader sees first, written when read."""
    programs = {v.voucher_id: v.program for v in vouchers}
    for row in rows:
        if row.voucher_id is not None:
            row.explain = partial(
                subsidies.explain, programs[row.voucher_id], priced[row.offer_id],
                catalog.get(row.accelerator_id), row.accelerator_hours, row.cost_fen,
            )  # fmt: skip
