"""A job's next attempt after a hardware or stack error: the fallback policy's next offer,
reserved from now (or queued until one has room), resumed from the checkpoint, priced at the
voucher program's rate for that offer's origin, and nothing from the voucher where the program
refuses the new provider (said on the run and the statement)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from suanli.domain.catalog import Accelerator
from suanli.domain.jobs import JobSpec, OfferChoice, choose_fallback, hold_fen
from suanli.domain.registry import Offer, Provider, Site, Tenant
from suanli.domain.runs import Run, VoucherTerms
from suanli.domain.subsidy_plan import offer_decision, refused_by_program
from suanli.services import capacity, ledger, runs, settlement
from suanli.services.catalog import load_catalog
from suanli.services.common import aware_now
from suanli.services.programs import load_programs
from suanli.store.db import as_utc
from suanli.store.repositories import registry as registry_repo
from suanli.store.repositories import runs as runs_repo
from suanli.store.uow import UnitOfWork


def _offer_choices(uow: UnitOfWork) -> list[OfferChoice]:
    catalog = load_catalog()
    busy = runs_repo.active_by_offer(uow.conn)
    now = aware_now()
    rows = runs_repo.open_offers(uow.conn)
    choices = []
    for o in rows:
        if as_utc(o.available_until) < now:
            continue
        choices.append(
            OfferChoice(
                o.id,
                o.accelerator_id,
                catalog.get(o.accelerator_id).origin,
                o.price_fen_per_accel_hour,
                int(o._mapping["count"]) - busy.get(o.id, 0),
            )
        )
    return choices


def fall_back(uow: UnitOfWork, run: Run) -> Run | None:
    """Place the job again by the policy step for its next attempt: reserve capacity on the new
    offer if the job runs under reservations, and hold for it at the voucher's rate there."""
    policy = run.fallback
    if run.attempt > len(policy):
        return None
    step = policy[run.attempt - 1]
    spec = run.spec
    choices = _offer_choices(uow)
    failed = next((c for c in choices if c.offer_id == run.offer_id), None)
    if failed is None:
        origin = load_catalog().get(run.accelerator_id).origin
        failed = OfferChoice(run.offer_id, run.accelerator_id, origin, 0, 0)
    chosen = choose_fallback(step, failed, spec.accelerators, choices)
    if chosen is None:
        return None
    attempt = replace(run, id=f"{run.request_id}-a{run.attempt + 1}")
    waiting = ""
    reserving = capacity.request_reserves(uow, run.request_id)
    if reserving:
        capacity.release(uow, run.id, aware_now())
    savepoint = uow.conn.begin_nested()  # a refused hold leaves no reservation behind
    if reserving:
        chosen, waiting = _reserve_fallback(uow, attempt, step, failed, spec, choices, chosen)
    offer = registry_repo.get(uow.conn, Offer, chosen.offer_id)
    assert offer is not None
    done = runs.enqueue_run(
        uow,
        request_id=run.request_id,
        tenant_id=run.tenant_id,
        offer_id=chosen.offer_id,
        spec=spec,
        fallback=policy,
        voucher=_fallback_voucher(uow, run, offer, spec),
        attempt=run.attempt + 1,
        checkpoint_uri=run.checkpoint_uri,
    )
    if done.run is None:
        savepoint.rollback()
        return None
    savepoint.commit()
    if waiting:
        runs_repo.change(uow.conn, attempt.id, exit_detail=waiting)
        return runs.get_run(uow, attempt.id)
    return done.run


def _reserve_fallback(
    uow: UnitOfWork,
    attempt: Run,
    step: str,
    failed: OfferChoice,
    spec: JobSpec,
    choices: list[OfferChoice],
    first: OfferChoice,
) -> tuple[OfferChoice, str]:
    """Reserve from now on the first offer of the step, in the policy's order, with room for
    the attempt; if none has, the attempt waits for the first one (and the reason)."""
    left, chosen = list(choices), first
    candidate: OfferChoice | None = chosen
    while candidate is not None:
        chosen = candidate
        if runs._reserve_now(uow, attempt, chosen.offer_id, spec):
            return chosen, ""
        left = [c for c in left if c.offer_id != chosen.offer_id]
        candidate = choose_fallback(step, failed, spec.accelerators, left)
    return first, (
        f"{runs.WAITING}: no offer for step '{step}' has {spec.accelerators} accelerators free for "
        f"{spec.time_limit_s} s now; queued on {first.offer_id} until a reservation fits"
    )


def _fallback_voucher(
    uow: UnitOfWork, run: Run, offer: Offer, spec: JobSpec
) -> VoucherTerms | None:
    """The voucher on the new attempt: the placement's rate for the new origin, if the
    program's own rules accept the new offer (else 0: the wallet pays, and the run says why),
    capped so the voucher's share of the new hold fits what is left on the voucher."""
    voucher = run.voucher
    if voucher is None:
        return None
    terms = VoucherTerms(voucher.voucher_id, voucher.account_id, voucher.program_id,
                         dict(voucher.rates))  # fmt: skip
    acc = load_catalog().get(offer.accelerator_id)
    rate = voucher.rates.get(acc.origin, voucher.rate)
    refused = _program_refuses(uow, run, voucher.program_id, offer, acc, spec)
    if refused:
        return replace(terms, decided_rate=Fraction(0), note=refused)
    hold = hold_fen(offer.price_fen_per_accel_hour, spec)
    left = ledger.balance(uow, voucher.account_id).available_minor
    capped = min(rate, settlement.cover_rate(left, hold))
    note = "" if capped == rate else f"rate lowered to {capped} so the hold fits the voucher"
    return replace(terms, decided_rate=capped, note=note)


def _program_refuses(
    uow: UnitOfWork,
    run: Run,
    program_id: str,
    offer: Offer,
    acc: Accelerator,
    spec: JobSpec,
) -> str:
    """Why the voucher's program pays nothing on ``offer`` for this tenant ("" if it pays; a
    voucher whose program is not a shipped file keeps the rates it was given)."""
    program = load_programs().get(program_id)
    if program is None:
        return ""
    if offer.currency != program.currency:
        where = f"{offer.id} is in {offer.currency}"
        return f"{program.id} pays in {program.currency}, {where}; the wallet pays"
    tenant = registry_repo.get(uow.conn, Tenant, run.tenant_id)
    site = registry_repo.get(uow.conn, Site, offer.site_id)
    provider = registry_repo.get(uow.conn, Provider, site.provider_id) if site else None
    assert tenant is not None and provider is not None
    hours = spec.accelerators * spec.time_limit_s / 3600
    amount = hold_fen(offer.price_fen_per_accel_hour, spec)
    d = offer_decision(program, tenant, provider, acc, hours, amount, aware_now().date())
    if d.eligible:
        return ""
    return f"{program.id} pays nothing on {offer.id}: {refused_by_program(d)}; the wallet pays"
