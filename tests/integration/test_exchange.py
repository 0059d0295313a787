"""The exchange on SQLite and PostgreSQL: quotes, online submission with holds, idempotency,
cancellation, refusals that write nothing, and batch placement from the database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from suanli.domain.exchange import Busy, peak_use
from suanli.domain.money import apply_rate
from suanli.domain.roles import SYSTEM, Principal, Role
from suanli.errors import ConflictError, PermissionDenied, ValidationError
from suanli.services import batch_placement, exchange, runs
from suanli.services.settlement import wallet_account
from suanli.services.vouchers import voucher_account_id
from suanli.store.uow import UnitOfWork
from tests.integration.exchange_support import (
    TENANT,
    VOUCHER,
    WHO,
    available,
    counts,
    give_voucher,
    request,
)


def _quote(engine, body, who=WHO):
    with UnitOfWork(engine, read_only=True) as uow:
        return exchange.quote_for(uow, who, body)


def _submit(engine, body, who=WHO):
    with UnitOfWork(engine) as uow:
        return exchange.submit(uow, who, exchange.request_from_dict(body))


def test_quote_sorted_by_objective_with_the_voucher_programs_subsidy(world, engine):
    give_voucher(engine)
    q = _quote(engine, request())
    assert q.rows, q.refused
    nets = [r.net_fen for r in q.rows]
    assert nets == sorted(nets)
    for r in q.rows:  # Hangzhou: 30 % on domestic chips, 20 % on others, only at hz-xixi
        assert r.provider_id == "hz-xixi-compute" and r.voucher_id == VOUCHER
        rate = Fraction(3, 10) if r.origin == "domestic" else Fraction(1, 5)
        assert r.rate == rate and r.subsidy_fen == apply_rate(r.cost_fen, rate)
        assert r.net_fen == r.cost_fen - r.subsidy_fen
        assert r.accelerator_hours_p10 < r.accelerator_hours < r.accelerator_hours_p90
    assert any("30 %" in line for line in q.rows[0].subsidy_lines)
    finish = _quote(engine, request(objective="finish_time")).rows
    assert [r.finish for r in finish] == sorted(r.finish for r in finish)
    energy = [r.energy_kwh for r in _quote(engine, request(objective="energy")).rows]
    known = [e for e in energy if e is not None]
    assert known == sorted(known) and energy[: len(known)] == known


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"allowed_origins": ["domestic"]}, "origin"),
        ({"allow_export_controlled": False}, "export_controlled"),
        (
            {"workload": {"kind": "finetune", "params_b": 1, "tokens_b": 0.05, "precision": "fp8"}},
            "precision",
        ),  # fmt: skip
        (
            {"workload": {"kind": "pretrain", "params_b": 400, "tokens_b": 1}, "accelerators": 1},
            "memory",
        ),  # fmt: skip
        ({"accelerators": 600}, "capacity"),
        ({}, "not_accredited"),
        ({"max_net_fen": 1}, "ceiling"),
    ],
)
def test_infeasible_offers_carry_their_reason(world, engine, overrides, code):
    give_voucher(engine)
    q = _quote(engine, request(**overrides))
    assert code in {r.code for r in q.refused}, q.refused
    assert all(r.reason for r in q.refused)


def test_deadline_and_a_full_calendar_are_reasons(world, engine):
    give_voucher(engine)
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    q = _quote(engine, request(deadline=soon))
    assert not q.rows and "deadline" in {r.code for r in q.refused}
    best = _quote(engine, request()).rows[0]
    offer = _offer(engine, best.offer_id)
    with UnitOfWork(engine) as uow:  # someone holds the whole offer to the end of its window
        now = datetime.now(UTC)
        assert exchange.reserve(
            uow, reservation_id="x-a1", request_id="x", tenant_id="pujiang-bio",
            offer_id=offer.id, accelerators=offer.count, duration=offer.available_until - now,
            start=now, flexible=False, now=now,
        )  # fmt: skip
        uow.commit()
    refused = {r.offer_id: r.code for r in _quote(engine, request()).refused}
    assert refused[best.offer_id] == "capacity"


def _offer(engine, offer_id):
    from suanli.domain.registry import Offer
    from suanli.store.repositories import registry as repo

    with UnitOfWork(engine, read_only=True) as uow:
        return repo.get(uow.conn, Offer, offer_id)


def _count(engine, offer_id):
    return _offer(engine, offer_id).count


def test_submit_reserves_queues_and_holds_both_shares(world, engine):
    give_voucher(engine)
    voucher_acc, wallet = voucher_account_id(VOUCHER), wallet_account(TENANT)
    before = available(engine, voucher_acc), available(engine, wallet)
    best = _quote(engine, request()).rows[0]
    done = _submit(engine, request())
    assert done.status == "placed", done.reason
    assert done.placement is not None and done.placement.offer_id == best.offer_id
    assert done.run is not None
    run = done.run.to_dict()
    assert run["status"] == "queued" and run["spec"]["accelerators"] == best.count
    assert run["spec"]["time_limit_s"] == best.duration_s
    holds = {p: h["amount"] for p, h in run["holds"].items()}
    total = -(-best.count * best.duration_s * best.price_fen_per_accel_hour // 3600)
    assert holds["voucher"] == apply_rate(total, best.rate)
    assert holds["voucher"] + holds["wallet"] == total
    assert available(engine, voucher_acc) == before[0] - holds["voucher"]
    assert available(engine, wallet) == before[1] - holds["wallet"]
    with UnitOfWork(engine) as uow:
        (res,) = exchange.list_reservations(uow, WHO, request_id="r-1")
    assert res.offer_id == best.offer_id and res.accelerators == best.count
    assert res.end_at - res.start_at == timedelta(seconds=best.duration_s)
    # A retry returns the first answer and holds nothing more; other content conflicts.
    again = _submit(engine, request())
    assert again.status == "placed" and again.run is not None and again.run.id == run["id"]
    assert available(engine, voucher_acc) == before[0] - holds["voucher"]
    with pytest.raises(ConflictError):
        _submit(engine, request(max_net_fen=10**9))


def test_cancel_releases_capacity_and_voids_holds(world, engine):
    give_voucher(engine)
    voucher_acc, wallet = voucher_account_id(VOUCHER), wallet_account(TENANT)
    before = available(engine, voucher_acc), available(engine, wallet)
    assert _submit(engine, request()).status == "placed"
    with UnitOfWork(engine) as uow:
        out = exchange.cancel(uow, WHO, "r-1").to_dict()
    assert out["status"] == "cancelled"
    assert [r["status"] for r in out["reservations"]] == ["released"]
    assert out["runs"][0]["status"] == "cancelled"
    assert (available(engine, voucher_acc), available(engine, wallet)) == before
    with UnitOfWork(engine) as uow:
        assert exchange.cancel(uow, WHO, "r-1").request.status == "cancelled"  # retry-safe
        with pytest.raises(PermissionDenied):
            exchange.cancel(uow, Principal(Role.TENANT, "lingxi-robotics"), "r-1")


def test_refusals_write_nothing(world, engine):
    give_voucher(engine, wallet_fen=0)  # no money in the wallet: the wallet's hold is refused
    before = counts(engine)
    done = _submit(engine, request())
    assert done.status == "refused" and "insufficient_funds" in done.reason
    assert counts(engine) == before
    done = _submit(engine, request("r-2", max_net_fen=1))
    assert done.status == "refused" and {r.code for r in done.refused} >= {"ceiling"}
    assert counts(engine) == before


def test_online_domestic_floor_keeps_foreign_offers_out(world, engine):
    give_voucher(engine)
    foreign_first = request(allowed_origins=["foreign"])
    assert _quote(engine, foreign_first).rows
    policy = replace(
        exchange.load_policy(),
        programs={"hangzhou-2025": replace(
            exchange.load_policy().programs["shanghai-2025"], id="hangzhou-2025")},
    )  # fmt: skip
    with UnitOfWork(engine) as uow:
        done = exchange.submit(uow, WHO, exchange.request_from_dict(foreign_first), policy=policy)
    # compliance: the demo world's grey-market H100 listing (no provenance) is never placed.
    assert done.status == "refused" and {r.code for r in done.refused} == {
        "not_accredited", "origin", "policy", "compliance"}  # fmt: skip


def test_batch_places_pending_requests_under_the_policy(world, engine):
    give_voucher(engine, amount_fen=3_000_000)
    sizes = [1, 2, 4, 8, 16, 32]
    for i, n in enumerate(sizes):
        assert _submit(engine, request(f"b-{i}", accelerators=n, mode="batch")).status == "pending"
    base = exchange.load_policy()
    floor = replace(base.programs["shanghai-2025"], id="hangzhou-2025")
    policy = replace(base, programs={"hangzhou-2025": floor}, scarce_models=frozenset(
        {"huawei-ascend-910c"}), fair_share_cap=Fraction(1, 50))  # fmt: skip
    with UnitOfWork(engine) as uow:
        report = batch_placement.place_batch(uow, SYSTEM, policy, time_limit_s=10)
    out = report.to_dict()
    assert out["violations"] == [] and out["pending"] == len(sizes)
    assert out["placed_count"] + out["unplaced_count"] == len(sizes) and out["placed_count"] > 0
    assert out["lp_bound"] is not None and out["objective"] >= out["lp_bound"] - 1
    with UnitOfWork(engine) as uow:
        placed = [exchange.get_request(uow, SYSTEM, p["request_id"]) for p in out["placed"]]
        res = exchange.list_reservations(uow, SYSTEM, active_only=True)
    # Domestic floor 7/10 of subsidised accelerator-hours, from the stored placements.
    ah = [(p.placement.origin, p.placement.accelerator_hours) for p in placed if p.placement]
    assert sum(h for o, h in ah if o == "domestic") >= 0.7 * sum(h for _, h in ah) - 1e-6
    for p in placed:
        assert p.request.status == "placed" and p.runs[0].status == "queued"
    by_offer: dict[str, list[Busy]] = {}
    for r in res:
        by_offer.setdefault(r.offer_id, []).append(Busy(r.start_at, r.end_at, r.accelerators))
    for offer_id, busy in by_offer.items():
        start, end = min(b.start for b in busy), max(b.end for b in busy)
        assert peak_use(busy, start, end) <= _count(engine, offer_id)
    with UnitOfWork(engine) as uow:  # nothing pending is left placed twice
        again = batch_placement.place_batch(uow, SYSTEM, policy, time_limit_s=5)
    assert again.pending == out["unplaced_count"]
    with pytest.raises(PermissionDenied), UnitOfWork(engine) as uow:
        batch_placement.place_batch(uow, WHO, policy)
    for bad in (float("nan"), 0.0, -1.0, 601.0):  # NaN reached HiGHS; -1 ran as 0.1 s
        with pytest.raises(ValidationError) as err, UnitOfWork(engine) as uow:
            batch_placement.place_batch(uow, SYSTEM, policy, time_limit_s=bad)
        assert err.value.field == "time_limit_s"


def test_other_tenants_cannot_use_or_see(world, engine):
    give_voucher(engine)
    other = Principal(Role.TENANT, "lingxi-robotics")
    with pytest.raises(PermissionDenied):
        _quote(engine, request(), who=other)
    with pytest.raises(PermissionDenied):
        _submit(engine, request(tenant_id="lingxi-robotics"), who=other)  # not its voucher
    assert _submit(engine, request()).status == "placed"
    with UnitOfWork(engine) as uow:
        with pytest.raises(PermissionDenied):
            exchange.get_request(uow, other, "r-1")
        assert exchange.list_requests(uow, other) == []
        assert exchange.list_reservations(uow, other) == []
        assert runs.get_run(uow, "r-1-a1").tenant_id == TENANT
