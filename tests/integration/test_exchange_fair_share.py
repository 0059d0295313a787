"""The fair share of scarce models holds across one tenant's concurrent submissions (PostgreSQL)
and across batches: a batch counts what the tenant already holds, not only what it gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import Engine

from suanli.domain.exchange import Busy, peak_use
from suanli.domain.roles import SYSTEM
from suanli.placement.policy import Policy
from suanli.services import batch_placement, exchange
from suanli.services.quotes import live_offers
from suanli.store.uow import UnitOfWork
from tests.integration.exchange_support import TENANT, WHO, give_voucher, request
from tests.integration.test_exchange_concurrency import _race

EACH, ADMITTED = 8, 3


def _every_model_scarce(engine: Engine) -> tuple[Policy, int]:
    """The default policy with every live offer's model scarce; and their accelerator count."""
    with UnitOfWork(engine, read_only=True) as uow:
        offers = [v.offer for v in live_offers(uow, datetime.now(UTC))]
    models = frozenset(o.accelerator_id for o in offers)
    return replace(exchange.load_policy(), scarce_models=models), sum(o.count for o in offers)


def _tenant_reservations(engine: Engine) -> list[dict[str, object]]:
    with UnitOfWork(engine, read_only=True) as uow:
        rows = exchange.list_reservations(uow, SYSTEM, active_only=True)
    return [r.to_dict() for r in rows if r.tenant_id == TENANT]


@pytest.mark.postgres
def test_concurrent_submissions_of_one_tenant_stay_within_its_fair_share(
    world: Engine, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock concurrency is exercised on PostgreSQL")
    give_voucher(engine, amount_fen=5_000_000, wallet_fen=50_000_000)
    policy, total = _every_model_scarce(engine)
    # A cap that admits exactly three submissions of eight accelerators at once.
    policy = replace(policy, fair_share_cap=Fraction(ADMITTED * EACH, total))

    def submit(i: int) -> str:
        body = request(f"fs-{i}", accelerators=EACH)
        with UnitOfWork(engine) as uow:
            req = exchange.request_from_dict(body)
            return exchange.submit(uow, WHO, req, policy=policy).status

    assert sorted(_race(8, submit)) == ["placed"] * ADMITTED + ["refused"] * (8 - ADMITTED)
    mine = _tenant_reservations(engine)
    busy = [Busy(r["start_at"], r["end_at"], r["accelerators"]) for r in mine]  # type: ignore[arg-type]
    edges = sorted({b.start for b in busy} | {b.end for b in busy})
    assert peak_use(busy, edges[0], edges[-1]) == ADMITTED * EACH


def _batch(engine: Engine, policy: Policy, now: datetime) -> batch_placement.BatchReport:
    with UnitOfWork(engine) as uow:
        return batch_placement.place_batch(uow, SYSTEM, policy, time_limit_s=20, now=now)


def _pending(engine: Engine, rid: str) -> None:
    with UnitOfWork(engine) as uow:
        body = request(rid, accelerators=EACH, mode="batch")
        assert exchange.submit(uow, WHO, exchange.request_from_dict(body)).status == "pending"


def test_a_batch_counts_the_scarce_hours_a_tenant_already_holds(
    world: Engine, engine: Engine
) -> None:
    give_voucher(engine, amount_fen=5_000_000, wallet_fen=50_000_000)
    now = datetime.now(UTC)
    _pending(engine, "b-1")
    first = _batch(engine, replace(exchange.load_policy(), fair_share_cap=None), now)
    assert [p["request_id"] for p in first.placed] == ["b-1"]
    (held,) = _tenant_reservations(engine)
    held_ah = held["accelerators"] * (held["end_at"] - held["start_at"]) / timedelta(hours=1)  # type: ignore[operator]
    # The model the first batch chose becomes scarce, with a share of one and a half such runs:
    # the same request again fits the cap alone, but not beside what the tenant already holds.
    with UnitOfWork(engine, read_only=True) as uow:
        offers = {v.offer.id: v.offer for v in live_offers(uow, now)}
    scarce = offers[str(held["offer_id"])].accelerator_id
    policy = replace(exchange.load_policy(), scarce_models=frozenset({scarce}))
    _pending(engine, "b-2")
    with UnitOfWork(engine, read_only=True) as uow:
        item = batch_placement._quoted(uow, SYSTEM, _stored_request(uow, "b-2"), now)
        pools = batch_placement._pools(uow, set(item.rows), policy, now)
    capacity_ah = sum(p.count for p in pools if p.scarce) * batch_placement.N_SLOTS
    limit_ah = 1.5 * held_ah
    policy = replace(policy, fair_share_cap=Fraction(limit_ah / capacity_ah).limit_denominator())
    second = _batch(engine, policy, now)
    assert not second.violations
    assert [p["request_id"] for p in second.placed] == ["b-2"]  # placed, but elsewhere
    (moved,) = [r for r in _tenant_reservations(engine) if r["request_id"] == "b-2"]
    assert offers[str(moved["offer_id"])].accelerator_id != scarce


def _stored_request(uow: UnitOfWork, rid: str) -> exchange.JobRequest:
    return exchange.request_from_dict(dict(exchange._stored(uow, rid).body))
