"""What an online placement checks of one quote row before it reserves: a program's domestic
floor and the fair share of scarce models (each under the lock that serialises it), and the
voucher's rule for the run (its program's rate for each origin, capped where the balance would
not cover that share of the hold)."""

from __future__ import annotations

from datetime import datetime

from suanli.domain.exchange import Busy, JobRequest, peak_use
from suanli.domain.quotes import QuoteRow
from suanli.domain.registry import Provider
from suanli.domain.runs import VoucherTerms
from suanli.domain.subsidy_plan import VoucherView, origin_rates
from suanli.placement.policy import Policy
from suanli.services.catalog import load_catalog
from suanli.services.common import registered_tenant
from suanli.services.quotes import live_offers
from suanli.services.settlement import cover_rate
from suanli.store.repositories import registry as registry_repo
from suanli.store.repositories import requests as requests_repo
from suanli.store.repositories import reservations as reservations_repo
from suanli.store.uow import UnitOfWork

# Policies that apply online: a program's domestic floor and the fair share of scarce models.


def domestic_refusal(uow: UnitOfWork, row: QuoteRow, policy: Policy) -> str:
    pol = policy.program(row.program_id)
    if pol is None or pol.domestic_floor == 0 or row.origin == "domestic":
        return ""
    # The program's budget rows serialise foreign placements under one floor: two concurrent
    # submissions would otherwise both read the same domestic share and both pass.
    requests_repo.lock_program_budgets(uow.conn, pol.id)
    placed = requests_repo.placed_hours_by_origin(uow.conn, pol.id)
    domestic = sum(h for o, h in placed if o == "domestic")
    total = sum(h for _, h in placed) + row.accelerator_hours
    if domestic + pol.domestic_surplus_ah >= float(pol.domestic_floor) * total:
        return ""
    return (f"program {pol.id}'s domestic floor {pol.domestic_floor} of subsidised "
            f"accelerator-hours: {domestic:.0f} of {total:.0f} would be domestic")  # fmt: skip


def fair_share_refusal(
    uow: UnitOfWork, row: QuoteRow, tenant_id: str, policy: Policy, now: datetime
) -> str:
    cap = policy.fair_share_cap
    if cap is None or row.accelerator_id not in policy.scarce_models:
        return ""
    scarce = [
        v.offer for v in live_offers(uow, now) if v.offer.accelerator_id in policy.scarce_models
    ]
    total = sum(o.count for o in scarce)
    mine = reservations_repo.tenant_active_on(uow.conn, tenant_id, [o.id for o in scarce], now)
    busy = [Busy(s, e, a) for s, e, a in mine]
    used = peak_use(busy, row.start, row.finish)
    if used + row.count <= cap * total:
        return ""
    return (f"fair share: {tenant_id} would hold {used + row.count} of {total} scarce "
            f"accelerators at once, above {cap}")  # fmt: skip


def voucher_rule(
    uow: UnitOfWork,
    request: JobRequest,
    row: QuoteRow,
    vouchers: dict[str, VoucherView],
    hold_total_fen: int,
    now: datetime,
) -> VoucherTerms | None:
    if row.voucher_id is None:
        return None
    v = vouchers[row.voucher_id]
    tenant = registered_tenant(uow, request.tenant_id, "tenant_id")
    provider = registry_repo.get(uow.conn, Provider, row.provider_id)
    assert provider is not None  # the quote read it a moment ago
    rates = origin_rates(v.program, tenant, provider, row.accelerator_hours, row.cost_fen,
                         now.date(), load_catalog())  # fmt: skip
    rates[row.origin] = row.rate  # decided on this very offer
    cover = cover_rate(v.balance_fen, hold_total_fen)
    capped = {origin: min(rate, cover) for origin, rate in sorted(rates.items())}
    return VoucherTerms(v.voucher_id, v.account_id, v.program.id, capped)
