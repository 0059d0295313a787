"""A placed job that falls back, on SQLite and PostgreSQL: the new attempt is priced under the
voucher's program (its rate for the new origin, nothing where the program refuses the offer's
provider) and takes capacity through the same reservation path, or waits for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import select

from suanli.domain.money import apply_rate
from suanli.domain.roles import SYSTEM
from suanli.services import capacity, exchange, ledger, runs, statements
from suanli.services.catalog import load_catalog
from suanli.store.tables.exchange import reservations
from suanli.store.tables.foundation import offers
from suanli.store.uow import UnitOfWork
from tests.integration.exchange_support import TENANT, WHO, give_voucher, request

DOMESTIC_ONLY = {"allowed_origins": ["domestic"], "fallback": ["foreign"]}


def _place(engine, **kw: Any) -> dict[str, Any]:
    with UnitOfWork(engine) as uow:
        done = exchange.submit(uow, WHO, exchange.request_from_dict(request(**kw)))
    assert done.status == "placed", done.reason
    assert done.run is not None
    return done.run.to_dict()


def _run_once(engine, site_id: str, exit_class: str, accelerator_s: float = 1800.0) -> dict:
    """Lease the site's next run, report its usage and end it as ``exit_class``."""
    with UnitOfWork(engine) as uow:
        leased = runs.lease_next(uow, site_id, "agent-1", 60)
        uow.commit()
    assert leased is not None
    run = leased.to_dict()
    with UnitOfWork(engine) as uow:
        runs.report_usage(uow, run["id"], run["lease_id"], 1, accelerator_seconds=accelerator_s,
                          wall_seconds=accelerator_s)  # fmt: skip
        uow.commit()
    with UnitOfWork(engine) as uow:
        done = runs.complete(uow, run["id"], run["lease_id"], exit_class).to_dict()
        uow.commit()
    return done


def _reservation(engine, rid: str) -> Any:
    with UnitOfWork(engine, read_only=True) as uow:
        return uow.conn.execute(select(reservations).where(reservations.c.id == rid)).first()


def _get(engine, run_id: str) -> dict[str, Any]:
    with UnitOfWork(engine, read_only=True) as uow:
        return runs.get_run(uow, run_id).to_dict()


def _clean(engine) -> None:
    with UnitOfWork(engine, read_only=True) as uow:
        assert ledger.check_invariants(uow) == []


def _block(engine, offer_ids: list[str]) -> None:
    """Another tenant's reservations take every accelerator of these offers for two days."""
    now = datetime.now(UTC)
    with UnitOfWork(engine) as uow:
        for oid in offer_ids:
            count = uow.conn.execute(select(offers.c.count).where(offers.c.id == oid)).scalar_one()
            assert capacity.reserve(
                uow, reservation_id=f"blk-{oid}", request_id="blocker", tenant_id="deepharbor-ai",
                offer_id=oid, accelerators=count, duration=timedelta(days=2), start=now,
                flexible=False, now=now,
            )  # fmt: skip
        uow.commit()


def test_fallback_to_foreign_is_held_and_settled_at_the_programs_foreign_rate(world, engine):
    give_voucher(engine)
    first = _place(engine, **DOMESTIC_ONLY)
    assert first["provider_id"] == "hz-xixi-compute"  # the program's accredited centre
    assert first["voucher"]["rates"] == {"domestic": "3/10", "foreign": "1/5"}
    assert first["voucher"]["rate"] == "3/10"
    ended = _run_once(engine, first["site_id"], "stack_error")
    assert ended["next_run_id"] == "r-1-a2"
    second = _get(engine, "r-1-a2")
    assert second["offer_id"] == "hz-xx-1-l20"  # the cheapest foreign offer, same centre
    assert second["voucher"]["rate"] == "1/5" and "note" not in second["voucher"]
    total = sum(h["amount"] for h in second["holds"].values())
    assert second["holds"]["voucher"]["amount"] == apply_rate(total, Fraction(1, 5))
    # Capacity moved with the attempt: the old reservation given back, a new one on the new offer.
    assert _reservation(engine, "r-1-a1").status == "released"
    new = _reservation(engine, "r-1-a2")
    assert new.status == "active" and new.offer_id == "hz-xx-1-l20"
    assert new.accelerators == second["spec"]["accelerators"]
    done = _run_once(engine, "hz-xx-1", "success")
    assert done["id"] == "r-1-a2" and done["status"] == "succeeded"
    a1, a2 = _get(engine, "r-1-a1"), _get(engine, "r-1-a2")
    for run, rate in ((a1, Fraction(3, 10)), (a2, Fraction(1, 5))):
        assert run["billed_fen"] > 0
        assert run["voucher_fen"] == apply_rate(run["billed_fen"], rate)
        assert run["wallet_fen"] == run["billed_fen"] - run["voucher_fen"]
    with UnitOfWork(engine, read_only=True) as uow:
        month = datetime.now(UTC).strftime("%Y-%m")
        lines = statements.statement(uow, SYSTEM, month, tenant=TENANT).to_dict()["lines"]
    assert [(x["run_id"], x["voucher_fen"]) for x in lines] == [
        ("r-1-a1", a1["voucher_fen"]), ("r-1-a2", a2["voucher_fen"])]  # fmt: skip
    _clean(engine)


def test_fallback_skips_a_full_offer_and_the_wallet_pays_where_the_program_refuses(world, engine):
    give_voucher(engine)
    first = _place(engine, **DOMESTIC_ONLY)
    _block(engine, ["hz-xx-1-l20"])  # the cheapest foreign offer is full
    _run_once(engine, first["site_id"], "stack_error")
    second = _get(engine, "r-1-a2")
    assert second["offer_id"] == "sh-lg-2-l20" and second["exit_detail"] == ""  # the next one
    assert _reservation(engine, "r-1-a2").offer_id == "sh-lg-2-l20"
    assert second["voucher"]["rate"] == "0" and "voucher" not in second["holds"]
    assert "not accredited" in second["voucher"]["note"]
    assert second["voucher"]["note"].endswith("the wallet pays")
    done = _run_once(engine, "sh-lg-2", "success")
    assert done["voucher_fen"] == 0 and done["wallet_fen"] == done["billed_fen"] > 0
    with UnitOfWork(engine, read_only=True) as uow:
        month = datetime.now(UTC).strftime("%Y-%m")
        lines = statements.statement(uow, SYSTEM, month, program="hangzhou-2025").to_dict()["lines"]
        mine = statements.statement(uow, SYSTEM, month, tenant=TENANT).to_dict()["lines"]
    # The program's statement lists only what it paid; the tenant's says why it paid nothing.
    assert [x["run_id"] for x in lines] == ["r-1-a1"] and lines[0]["voucher_fen"] > 0
    assert [x["run_id"] for x in mine] == ["r-1-a1", "r-1-a2"]
    assert mine[0]["voucher_note"] == "" and "not accredited" in mine[1]["voucher_note"]
    _clean(engine)


def test_fallback_waits_in_the_queue_until_capacity_frees(world, engine):
    give_voucher(engine)
    first = _place(engine, **DOMESTIC_ONLY)
    catalog = load_catalog()
    with UnitOfWork(engine, read_only=True) as uow:
        rows = uow.conn.execute(select(offers.c.id, offers.c.accelerator_id)).all()
    foreign = sorted(oid for oid, acc in rows if catalog.get(acc).origin == "foreign")
    _block(engine, foreign)  # every foreign offer is full
    _run_once(engine, first["site_id"], "stack_error")
    second = _get(engine, "r-1-a2")
    assert second["status"] == "queued" and second["offer_id"] == "hz-xx-1-l20"
    assert second["exit_detail"].startswith(runs.WAITING)
    assert _reservation(engine, "r-1-a2") is None  # nothing over-committed
    with UnitOfWork(engine) as uow:
        assert runs.lease_next(uow, "hz-xx-1", "agent-1", 60) is None  # not leased meanwhile
        uow.commit()
    with UnitOfWork(engine) as uow:
        capacity.release(uow, "blk-hz-xx-1-l20", datetime.now(UTC))
        uow.commit()
    done = _run_once(engine, "hz-xx-1", "success")
    assert done["id"] == "r-1-a2" and done["status"] == "succeeded" and done["exit_detail"] == ""
    assert _reservation(engine, "r-1-a2").status == "active"
    assert done["voucher_fen"] == apply_rate(done["billed_fen"], Fraction(1, 5))
    _clean(engine)
