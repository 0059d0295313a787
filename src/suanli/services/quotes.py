"""Quotes: what a quote needs, loaded for the core's ``domain.quotes.quote_offers``: the live
offers with their sites and providers, the tenant's usable vouchers with their balances, the
offers' reservations, the catalog and the utilisation model, and the offers' compliance flags.
Reads only."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from datetime import UTC, datetime

from suanli.domain.exchange import JobRequest
from suanli.domain.quotes import Quote, quote_offers
from suanli.domain.registry import Offer, Provider, Site, Tenant
from suanli.domain.roles import Principal
from suanli.domain.subsidy_plan import OfferView, VoucherView
from suanli.errors import ValidationError
from suanli.rejection import Rejection
from suanli.services import compliance, filings, ledger
from suanli.services.capacity import busy_by_offer
from suanli.services.catalog import load_catalog
from suanli.services.common import acting_for, registered_tenant
from suanli.services.estimates import default_model
from suanli.services.programs import get_program
from suanli.services.vouchers import usable_voucher
from suanli.store.repositories import registry as repo
from suanli.store.uow import UnitOfWork

# Loading what a quote needs.


def live_offers(uow: UnitOfWork, now: datetime) -> list[OfferView]:
    sites = repo.list_all(uow.conn, Site)
    providers = repo.list_all(uow.conn, Provider)
    offers = repo.list_all(uow.conn, Offer)
    return [v for v in _views(sites, providers, offers) if v.offer.available_until > now]


# The views of the last listing: the repository hands back the same record objects while the
# registry is unchanged, and the same views let a quote find what it kept for them.
_VIEWS: list[tuple[list[object], list[OfferView]]] = []


def _views(sites: list[Site], providers: list[Provider], offers: list[Offer]) -> list[OfferView]:
    """Each offer with its site and provider (an offer whose site or provider is retired is
    left out)."""
    listed: list[object] = [*sites, None, *providers, None, *offers]
    if _VIEWS and len(_VIEWS[0][0]) == len(listed):
        kept, views = _VIEWS[0]
        if all(map(operator.is_, kept, listed)):
            return views
    by_site = {s.id: s for s in sites}
    by_provider = {p.id: p for p in providers}
    views = []
    for offer in offers:
        site = by_site.get(offer.site_id)
        provider = by_provider.get(site.provider_id) if site else None
        if site is not None and provider is not None:
            views.append(OfferView(offer, site, provider))
    _VIEWS[:] = [(listed, views)]
    return views


def tenant_vouchers(
    uow: UnitOfWork, who: Principal, request: JobRequest, tenant: Tenant, now: datetime
) -> list[VoucherView] | Rejection:
    """The request's vouchers as a quote prices them, or why one of them cannot pay now."""
    views = []
    for i, vid in enumerate(request.voucher_ids):
        voucher = usable_voucher(uow, who, vid, tenant.currency, now.date())
        if isinstance(voucher, Rejection):
            return Rejection(voucher.code, voucher.message, f"voucher_ids[{i}]")
        if voucher.tenant_id != request.tenant_id:
            raise ValidationError(f"voucher_ids[{i}]", f"voucher {vid} is not {tenant.id}'s")
        balance = ledger.balance(uow, voucher.account_id).available_minor
        program = get_program(voucher.program_id)
        views.append(VoucherView(vid, program, voucher.account_id, balance, voucher.currency))
    return views


def quote(
    uow: UnitOfWork,
    who: Principal,
    request: JobRequest,
    *,
    now: datetime | None = None,
    placing: bool = False,
) -> Quote:
    """Every live offer for ``request``: feasible rows sorted by its objective, and refusals.
    ``placing``: the quote a submission or the batch places from, which leaves out every
    offer a compliance flag excludes, whoever pays."""
    request.validate()
    request.check_sized()
    if request.workload is not None:
        request.workload.validate()
    acting_for(who, request.tenant_id, "ask for quotes")
    now = now or datetime.now(UTC)
    tenant = registered_tenant(uow, request.tenant_id, "tenant_id")
    vouchers = tenant_vouchers(uow, who, request, tenant, now)
    if isinstance(vouchers, Rejection):
        return Quote(request.id, request.objective, [], rejection=vouchers)
    unfiled = filings.request_refusal(uow, request, vouchers)
    if unfiled is not None:
        return Quote(request.id, request.objective, [], rejection=unfiled)
    offers = live_offers(uow, now)
    if request.offer_ids:
        offers = chosen_offers(offers, request.offer_ids)
    flags = compliance.screen(uow, offers, now)
    return quote_offers(request, offers, tenant, vouchers, busy_by_offer(uow, now), now,
                        catalog=load_catalog(), model=default_model(), flags=flags,
                        placing=placing)  # fmt: skip


def chosen_offers(offers: list[OfferView], offer_ids: Sequence[str]) -> list[OfferView]:
    """The live offers a request names, in its order; one it names that is not live is bad
    input, not a refusal (the caller chose it)."""
    by_id = {v.offer.id: v for v in offers}  # live_offers leaves retired ones out
    for i, oid in enumerate(offer_ids):
        if oid not in by_id:
            raise ValidationError(f"offer_ids[{i}]", f"unknown, retired or ended offer {oid!r}")
    return [by_id[oid] for oid in offer_ids]
