"""24 concurrent submissions race for one offer on a real PostgreSQL: capacity never over-committed.

Each client reserves 50 of the offer's 256 accelerators at the same instant (a fixed start), so
at most five can win; then 16 clients submit through the exchange at once, each placed at its
earliest start, and the calendar is checked at every instant.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from suanli.domain.exchange import Busy, peak_use
from suanli.domain.roles import SYSTEM
from suanli.services import exchange
from suanli.store.uow import UnitOfWork
from tests.integration.exchange_support import WHO, give_voucher, request

OFFER, COUNT, NEED = "hz-xx-1-910b", 256, 50


def _race(n: int, work: Any) -> list[Any]:
    start = threading.Barrier(n)
    out: list[Any] = [None] * n

    def client(i: int) -> None:
        start.wait()
        out[i] = work(i)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _calendar(engine: Engine) -> dict[str, list[Busy]]:
    with UnitOfWork(engine, read_only=True) as uow:
        rows = exchange.list_reservations(uow, SYSTEM, active_only=True)
    out: dict[str, list[Busy]] = {}
    for r in rows:
        out.setdefault(r.offer_id, []).append(Busy(r.start_at, r.end_at, r.accelerators))
    return out


@pytest.mark.postgres
def test_concurrent_reservations_never_over_commit(world: Engine, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock concurrency is exercised on PostgreSQL")
    at = datetime.now(UTC) + timedelta(hours=1)

    def reserve(i: int) -> bool:
        with UnitOfWork(engine) as uow:
            got = exchange.reserve(
                uow, reservation_id=f"c-{i}-a1", request_id=f"c-{i}", tenant_id="pujiang-bio",
                offer_id=OFFER, accelerators=NEED, duration=timedelta(hours=2), start=at,
                flexible=False,
            )  # fmt: skip
            uow.commit()
        return got is not None

    won = _race(24, reserve)
    assert sum(won) == COUNT // NEED
    busy = _calendar(engine)[OFFER]
    assert peak_use(busy, at, at + timedelta(hours=2)) == (COUNT // NEED) * NEED


@pytest.mark.postgres
def test_concurrent_submissions_are_placed_without_over_commit(
    world: Engine, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock concurrency is exercised on PostgreSQL")
    give_voucher(engine, amount_fen=5_000_000, wallet_fen=50_000_000)

    def submit(i: int) -> str:
        body = request(f"s-{i}", accelerators=200, allowed_origins=["domestic"])
        with UnitOfWork(engine) as uow:
            return exchange.submit(uow, WHO, exchange.request_from_dict(body)).status

    assert _race(16, submit) == ["placed"] * 16
    for offer_id, busy in _calendar(engine).items():
        edges = sorted({b.start for b in busy} | {b.end for b in busy})
        peak = peak_use(busy, edges[0], edges[-1])
        assert peak <= _count(engine, offer_id)


def _count(engine: Engine, offer_id: str) -> int:
    from suanli.domain.registry import Offer
    from suanli.store.repositories import registry as repo

    with UnitOfWork(engine, read_only=True) as uow:
        offer = repo.get(uow.conn, Offer, offer_id)
        assert offer is not None
        return offer.count


@pytest.mark.postgres
def test_a_cancel_racing_the_batch_leaves_no_reservation(world: Engine, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock concurrency is exercised on PostgreSQL")
    import threading
    import time

    from sqlalchemy import update

    from suanli.services import batch_placement
    from suanli.store.tables.exchange import job_requests

    give_voucher(engine)
    with UnitOfWork(engine) as uow:
        body = request("p-1", accelerators=2, mode="batch")
        assert exchange.submit(uow, WHO, exchange.request_from_dict(body)).status == "pending"
    out: list[Any] = []
    # A cancellation holds the request's row while the officer's batch starts.
    with UnitOfWork(engine) as uow:
        exchange._stored(uow, "p-1", lock=True)
        policy = exchange.load_policy()
        worker = threading.Thread(
            target=lambda: out.append(_batch(engine, batch_placement, policy))
        )
        worker.start()
        time.sleep(1.0)
        uow.conn.execute(
            update(job_requests).where(job_requests.c.id == "p-1").values(status="cancelled")
        )
        uow.commit()
    worker.join(60)
    assert out and out[0].pending == 0  # the batch waited and found nothing pending
    with UnitOfWork(engine, read_only=True) as uow:
        assert exchange.get_request(uow, SYSTEM, "p-1").request.status == "cancelled"
    assert _calendar(engine) == {}


def _batch(engine: Engine, batch_placement: Any, policy: Any) -> Any:
    with UnitOfWork(engine) as uow:
        return batch_placement.place_batch(uow, SYSTEM, policy, time_limit_s=5)


@pytest.mark.postgres
def test_concurrent_foreign_submissions_keep_the_domestic_floor(
    world: Engine, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("row-lock concurrency is exercised on PostgreSQL")
    from dataclasses import replace
    from fractions import Fraction

    from suanli.placement.policy import ProgramPolicy

    give_voucher(engine, amount_fen=5_000_000, wallet_fen=50_000_000)
    body = request("f-0", allowed_origins=["foreign"])
    with UnitOfWork(engine, read_only=True) as uow:
        hours = exchange.quote_for(uow, WHO, body).rows[0].accelerator_hours
    # A credit of domestic hours that lets exactly one such foreign run under a 70 % floor.
    floor = ProgramPolicy("hangzhou-2025", None, Fraction(7, 10), 0.7 * hours * 1.5)
    policy = replace(exchange.load_policy(), programs={"hangzhou-2025": floor})

    def submit(i: int) -> str:
        with UnitOfWork(engine) as uow:
            req = exchange.request_from_dict({**body, "id": f"f-{i}"})
            return exchange.submit(uow, WHO, req, policy=policy).status

    assert sorted(_race(8, submit)) == ["placed"] + ["refused"] * 7
