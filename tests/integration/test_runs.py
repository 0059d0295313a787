"""The run queue and agent protocol, on SQLite and PostgreSQL, with a real local agent."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import pytest

from suanli.agent.backends.local import LocalBackend
from suanli.domain.jobs import JobSpec, cost_fen
from suanli.domain.roles import SYSTEM
from suanli.errors import ConflictError
from suanli.services import ledger, runs, settlement
from suanli.store.uow import UnitOfWork
from tests.agent_support import (
    TENANT,
    fund,
    ledger_breaks,
    make_agent,
    train_command,
)
from tests.integration.exchange_support import TENANT as HZ_TENANT
from tests.integration.exchange_support import give_voucher


def _enqueue(engine, request_id="req-1", offer_id="bj-zgc-1-910b", **kw):
    spec = kw.pop("spec", JobSpec(command=("true",), accelerators=2, time_limit_s=600))
    with UnitOfWork(engine) as uow:
        done = runs.enqueue_run(
            uow, request_id=request_id, tenant_id=TENANT, offer_id=offer_id, spec=spec, **kw
        )
        uow.commit()
    assert done.run is not None, done.reason
    return done.run.to_dict()


def test_lease_protocol_usage_and_settlement(world, engine):
    voucher = fund(engine)
    run = _enqueue(engine, voucher=voucher)
    # 2 x 910B at 900 fen/h for 600 s: 300 fen held; domestic voucher rate 3/10.
    assert {p: h["amount"] for p, h in run["holds"].items()} == {"voucher": 90, "wallet": 210}
    assert _enqueue(engine, voucher=voucher)["id"] == run["id"]  # idempotent
    with UnitOfWork(engine) as uow:
        assert runs.lease_next(uow, "bj-yz-1", "a", 30) is None  # another site
        lease = runs.lease_next(uow, "bj-zgc-1", "agent-1", 30).to_dict()
        uow.commit()
    assert lease["id"] == run["id"] and lease["next_seq"] == 1
    lid = lease["lease_id"]
    with UnitOfWork(engine) as uow:
        runs.report_status(uow, run["id"], lid, "running")
        runs.report_usage(uow, run["id"], lid, 1, accelerator_seconds=180, wall_seconds=90)
        runs.report_usage(uow, run["id"], lid, 1, accelerator_seconds=180, wall_seconds=90)
        with pytest.raises(ConflictError):
            runs.report_usage(uow, run["id"], lid, 1, accelerator_seconds=1, wall_seconds=1)
        with pytest.raises(ConflictError):
            runs.heartbeat(uow, run["id"], "not-the-lease", 30)
        runs.report_usage(uow, run["id"], lid, 2, accelerator_seconds=180, wall_seconds=90)
        done = runs.complete(uow, run["id"], lid, "success").to_dict()
        again = runs.complete(uow, run["id"], lid, "success").to_dict()  # a retried completion
        uow.commit()
    # 360 accelerator-seconds at 900 fen/h = 90 fen: 27 from the voucher, 63 from the wallet.
    assert cost_fen(900, Fraction(360)) == 90
    assert (done["billed_fen"], done["voucher_fen"], done["wallet_fen"]) == (90, 27, 63)
    assert again["billed_fen"] == 90 and done["status"] == "succeeded"
    with UnitOfWork(engine) as uow:
        assert ledger.balance(uow, settlement.receivable_account("bj-zhongguancun-dc"))
        recv = ledger.get_account(uow, settlement.receivable_account("bj-zhongguancun-dc"))
        assert (recv.posted_credits, recv.pending_credits) == (90, 0)
    assert ledger_breaks(engine) == []


def test_a_queued_run_wakes_the_waiting_lease_at_once(world, engine, monkeypatch):
    from suanli.domain.roles import Principal, Role
    from suanli.services import agent_protocol

    voucher = fund(engine)
    monkeypatch.setattr(agent_protocol, "POLL_S", 30.0)  # only the signal can wake it in time
    agent = Principal(Role.AGENT, "bj-zgc-1", "agent", "t")
    got = {}

    def wait() -> None:
        with UnitOfWork(engine) as uow:
            got["lease"] = agent_protocol.lease(uow, agent, "agent-1", 30, wait_s=20)
            got["at"] = time.monotonic()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)  # the lease is waiting
    with UnitOfWork(engine) as uow:  # a rolled-back enqueue wakes no one
        runs.enqueue_run(uow, request_id="rb-1", tenant_id=TENANT, offer_id="bj-zgc-1-910b",
                         spec=JobSpec(command=("true",), time_limit_s=60))  # fmt: skip
    t0 = time.monotonic()
    run = _enqueue(engine, request_id="wake-1", voucher=voucher)
    waiter.join(timeout=20)
    assert got["lease"].run.id == run["id"] and got["at"] - t0 < 5


def test_expired_lease_requeues_and_refuses_late_reports(world, engine):
    fund(engine)
    run = _enqueue(engine)
    with UnitOfWork(engine) as uow:
        first = runs.lease_next(uow, "bj-zgc-1", "agent-1", 1).to_dict()
        runs.report_usage(
            uow, run["id"], first["lease_id"], 1, accelerator_seconds=4, wall_seconds=2
        )
        uow.commit()
    time.sleep(1.1)
    with UnitOfWork(engine) as uow:
        second = runs.lease_next(uow, "bj-zgc-1", "agent-2", 30).to_dict()
        uow.commit()
    assert second["id"] == run["id"] and second["next_seq"] == 2 and second["leases"] == 2
    with UnitOfWork(engine) as uow, pytest.raises(ConflictError):
        runs.report_usage(
            uow, run["id"], first["lease_id"], 2, accelerator_seconds=1, wall_seconds=1
        )
    with UnitOfWork(engine) as uow, pytest.raises(ConflictError):
        runs.complete(uow, run["id"], first["lease_id"], "success")


def test_local_agent_runs_a_training_job_over_http(world, api, tmp_path: Path):
    fund(api.engine)
    spec = {"command": train_command(30), "accelerators": 1, "time_limit_s": 120}
    body = {"request_id": "train-1", "tenant_id": TENANT, "offer_id": "bj-zgc-1-910b",
            "spec": spec}  # fmt: skip
    assert api.http.post("/api/v1/jobs", json=body, headers=api.token("tenant", "lingxi-robotics")
                         ).status_code == 403  # fmt: skip
    resp = api.http.post("/api/v1/jobs", json=body, headers=api.token("tenant", TENANT))
    assert resp.status_code == 201, resp.text
    agent = make_agent(api.http, api.engine, "bj-zgc-1", LocalBackend(devices=2), tmp_path)
    done = agent.run_once(wait_s=1)
    assert done["status"] == "succeeded" and done["exit_class"] == "success"
    output = (tmp_path / "train-1-a1.out").read_text()
    assert "done steps=30" in output
    assert sorted(p.name for p in Path(done["checkpoint_uri"]).glob("step-*.npz"))[-1] == (
        "step-00000030.npz"
    )
    run = api.http.get("/api/v1/runs/train-1-a1", headers=api.token("tenant", TENANT)).json()
    used = sum(Fraction(str(u["accelerator_seconds"])) for u in run["usage"])
    assert used > 0 and run["billed_fen"] == cost_fen(900, used)
    assert ledger_breaks(api.engine) == []


def test_stack_error_falls_back_to_a_foreign_offer_from_the_checkpoint(world, api, tmp_path):
    voucher_id = give_voucher(api.engine)  # Hangzhou: 30 % on domestic chips, 20 % otherwise
    cmd = train_command(40, fail_at_step=25, fail_on="huawei")
    spec = {"command": cmd, "accelerators": 1, "time_limit_s": 120}
    body = {"request_id": "fb-1", "tenant_id": HZ_TENANT, "offer_id": "hz-xx-1-910b",
            "spec": spec, "fallback": ["foreign"], "voucher_ids": [voucher_id]}  # fmt: skip
    resp = api.http.post("/api/v1/jobs", json=body, headers=api.token("officer"))
    assert resp.status_code == 201, resp.text
    first_run = resp.json()["run"]
    # The voucher's share is its program's rule for this offer, decided on the server.
    assert first_run["voucher"]["rates"] == {"domestic": "3/10", "foreign": "1/5"}
    first = make_agent(api.http, api.engine, "hz-xx-1", LocalBackend(), tmp_path).run_once(1)
    assert first["exit_class"] == "stack_error" and first["next_run_id"] == "fb-1-a2"
    with UnitOfWork(api.engine) as uow:
        second = runs.get_run(uow, "fb-1-a2").to_dict()
    assert second["accelerator_id"] == "nvidia-l20-48gb"  # the cheapest foreign offer
    # Re-priced for a foreign chip where Hangzhou accredits the provider, else nothing.
    assert second["voucher"]["rate"] == ("1/5" if second["provider_id"] == "hz-xixi-compute"
                                         else "0")  # fmt: skip
    done = make_agent(api.http, api.engine, second["site_id"], LocalBackend(), tmp_path).run_once(1)
    assert done["status"] == "succeeded"
    assert "resumed from step-00000020.npz" in (tmp_path / "fb-1-a2.out").read_text()
    with UnitOfWork(api.engine) as uow:
        for run in runs.runs_of_request(uow, "fb-1"):  # each attempt metered and billed once
            used = sum(Fraction(str(u.accelerator_seconds)) for u in runs.usage_of(uow, run.id))
            assert used > 0 and run.settled_at is not None
            assert run.billed_fen == cost_fen(run.price_fen_per_accel_hour, used)
    assert ledger_breaks(api.engine) == []


def test_a_cancelled_run_that_ends_in_a_stack_error_does_not_fall_back(world, engine):
    # The tenant cancels while the site fails the job: the job ends there, billed for what ran;
    # a fallback attempt would run (and bill) work the tenant has called off.
    voucher = fund(engine)
    run = _enqueue(engine, request_id="cf-1", fallback=["foreign"], voucher=voucher)
    with UnitOfWork(engine) as uow:
        lease = runs.lease_next(uow, "bj-zgc-1", "agent-1", 30).to_dict()
        runs.report_usage(uow, run["id"], lease["lease_id"], 1, accelerator_seconds=360,
                          wall_seconds=180)  # fmt: skip
        uow.commit()
    with UnitOfWork(engine) as uow:
        runs.request_cancel(uow, SYSTEM, run["id"])
    with UnitOfWork(engine) as uow:
        done = runs.complete(uow, run["id"], lease["lease_id"], "stack_error").to_dict()
        uow.commit()
    assert done["next_run_id"] is None and done["billed_fen"] == 90
    with UnitOfWork(engine) as uow:
        assert [r.id for r in runs.runs_of_request(uow, "cf-1")] == [run["id"]]
    assert ledger_breaks(engine) == []


def test_cancelling_a_run_whose_agent_died_settles_it_at_once(world, engine):
    # No agent of the site may ever ask for work again: the cancel itself ends the run and
    # bills what the dead agent reported, rather than leaving it leased with its holds.
    fund(engine)
    run = _enqueue(engine, request_id="cd-1")
    with UnitOfWork(engine) as uow:
        lease = runs.lease_next(uow, "bj-zgc-1", "agent-1", 1).to_dict()
        runs.report_usage(uow, run["id"], lease["lease_id"], 1, accelerator_seconds=360,
                          wall_seconds=180)  # fmt: skip
        uow.commit()
    time.sleep(1.1)
    with UnitOfWork(engine) as uow:
        done = runs.request_cancel(uow, SYSTEM, run["id"]).to_dict()
    assert done["status"] == "cancelled" and done["billed_fen"] == 90
    assert ledger_breaks(engine) == []


def test_tenant_cancels_a_running_job_and_pays_for_what_ran(world, api, tmp_path):
    fund(api.engine)
    spec = {"command": train_command(1000, step_s=0.05), "accelerators": 1, "time_limit_s": 120}
    body = {"request_id": "cx-1", "tenant_id": TENANT, "offer_id": "bj-zgc-1-910b", "spec": spec}
    tenant = api.token("tenant", TENANT)
    assert api.http.post("/api/v1/jobs", json=body, headers=tenant).status_code == 201
    agent = make_agent(api.http, api.engine, "bj-zgc-1", LocalBackend(), tmp_path)
    import threading

    result = {}
    thread = threading.Thread(target=lambda: result.update(done=agent.run_once(1)))
    thread.start()
    time.sleep(1.5)
    assert api.http.post("/api/v1/runs/cx-1-a1/cancel", headers=tenant).status_code == 200
    thread.join(timeout=30)
    done = result["done"]
    assert done["status"] == "cancelled"
    run = api.http.get("/api/v1/runs/cx-1-a1", headers=tenant).json()
    assert sum(u["wall_seconds"] for u in run["usage"]) > 1
    # Billed exactly the metered accelerator-seconds at the offer's price, nothing more held.
    used_s = sum(Fraction(str(u["accelerator_seconds"])) for u in run["usage"])
    assert done["billed_fen"] == cost_fen(run["price_fen_per_accel_hour"], used_s)
    assert done["billed_fen"] == done["voucher_fen"] + done["wallet_fen"]
    with UnitOfWork(api.engine) as uow:
        wallet = ledger.get_account(uow, settlement.wallet_account(TENANT))
        assert wallet.pending_debits == 0  # the unused rest of the hold was voided
    assert ledger_breaks(api.engine) == []


def test_a_usage_seq_past_32_bits_is_a_422_and_stores_nothing(world, api):
    """Found by fuzzing the bounds: on PostgreSQL run_usage.seq overflowed into a 500."""
    run = _enqueue(api.engine, voucher=fund(api.engine))
    agent = api.token("agent", "bj-zgc-1")
    lease = api.http.post("/api/v1/agent/lease", json={"agent_id": "a-1"}, headers=agent).json()
    usage = {"lease_id": lease["lease_id"], "accelerator_seconds": 1, "wall_seconds": 1}
    url = f"/api/v1/agent/runs/{run['id']}/usage"
    r = api.http.post(url, json={**usage, "seq": 2**31}, headers=agent)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "seq"
    assert api.http.post(url, json={**usage, "seq": 1}, headers=agent).status_code == 200
    with UnitOfWork(api.engine) as uow:
        assert [u.seq for u in runs.usage_of(uow, run["id"])] == [1]


def test_a_job_body_naming_an_account_or_a_rate_is_a_422(world, api):
    """A job names the tenant's vouchers by id; an account or a rate is not the caller's to say."""
    job = {
        "request_id": "r-rate",
        "tenant_id": TENANT,
        "offer_id": "bj-zgc-1-910b",
        "spec": {"command": ["true"]},
    }
    auth = api.token("officer")
    for field, value in (
        ("voucher", {"account_id": "issuer:shenzhen-2024", "rate": "1"}),
        ("account_id", "wallet:qiantang-llm"),
        ("rate", "1"),
        ("rates", {"domestic": "1"}),
    ):
        r = api.http.post("/api/v1/jobs", json={**job, field: value}, headers=auth)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", field], r.text
    with UnitOfWork(api.engine) as uow:
        assert runs.lease_next(uow, "bj-zgc-1", "a", 30) is None  # nothing was queued
