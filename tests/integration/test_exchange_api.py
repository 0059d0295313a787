"""The exchange's HTTP API: roles, tenant isolation, refusals as 200 with reasons, 422 naming
the field, and the officer's batch placement."""

from __future__ import annotations

from tests.integration.exchange_support import TENANT, give_voucher, request


def test_roles_and_isolation(world, api):
    give_voucher(api.engine)
    tenant, other = api.token("tenant", TENANT), api.token("tenant", "lingxi-robotics")
    auditor, officer = api.token("auditor"), api.token("officer")
    provider = api.token("provider", "hz-xixi-compute")
    post = api.http.post
    assert post("/api/v1/quotes", json=request(), headers=tenant).status_code == 200
    assert post("/api/v1/quotes", json=request(), headers=other).status_code == 403
    assert post("/api/v1/requests", json=request(), headers=auditor).status_code == 403
    assert post("/api/v1/requests", json=request(), headers=provider).status_code == 403
    resp = post("/api/v1/requests", json=request(), headers=tenant)
    assert resp.status_code == 201 and resp.json()["status"] == "placed"
    get = api.http.get
    assert get("/api/v1/requests/r-1", headers=other).status_code == 403
    assert get("/api/v1/requests/r-1", headers=auditor).status_code == 200
    assert get("/api/v1/requests", headers=other).json() == []
    assert [r["id"] for r in get("/api/v1/requests", headers=tenant).json()] == ["r-1"]
    assert len(get("/api/v1/reservations", headers=provider).json()) == 1  # on its offer
    assert get("/api/v1/reservations", headers=api.token("provider", "sz-qianhai-dc")).json() == []
    assert get("/api/v1/reservations", headers=other).json() == []
    assert post("/api/v1/requests/r-1/cancel", headers=other).status_code == 403
    assert post("/api/v1/requests/r-1/cancel", headers=auditor).status_code == 403
    assert post("/api/v1/requests/r-1/cancel", headers=tenant).json()["status"] == "cancelled"
    assert post("/api/v1/placement/batch", json={}, headers=tenant).status_code == 403
    assert post("/api/v1/placement/batch", json={}, headers=auditor).status_code == 403
    batch = post("/api/v1/placement/batch", json={"time_limit_s": 5}, headers=officer)
    assert batch.status_code == 200 and batch.json()["pending"] == 0


def test_bad_input_names_the_field_and_refusals_are_answers(world, api):
    give_voucher(api.engine, wallet_fen=0)
    tenant = api.token("tenant", TENANT)
    bad = request(workload={"kind": "finetune", "params_b": -1, "tokens_b": 1})
    resp = api.http.post("/api/v1/requests", json=bad, headers=tenant)
    assert resp.status_code == 422 and "params_b" in resp.text
    resp = api.http.post("/api/v1/requests", json=request(voucher_ids=["nope"]), headers=tenant)
    assert resp.status_code == 404
    resp = api.http.post("/api/v1/requests", json=request(), headers=tenant)
    # A business rejection: 409 (a conflict with the current state), its code and message.
    assert resp.status_code == 409 and resp.json()["accepted"] is False
    assert resp.json()["rejection"]["code"] == "insufficient_funds"
    assert "insufficient_funds" in resp.json()["reason"]
    pending = api.http.post("/api/v1/requests", json=request("b-1", mode="batch"), headers=tenant)
    assert pending.status_code == 201 and pending.json()["status"] == "pending"
