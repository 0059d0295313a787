"""Applications, vouchers, claims and budgets over HTTP with shipped programs, both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

from suanli.domain.registry import Tenant
from suanli.domain.roles import SYSTEM
from suanli.services import ledger, registry
from suanli.store.uow import UnitOfWork
from tests.conftest import ApiClient

CONTRACT = {
    "provider_id": "hz-xixi-compute",
    "accelerator_id": "910B",
    "accelerator_hours": 1000,
    "amount_fen": 1_000_000,
    "currency": "CNY",
    "start_on": "2026-02-01",
}
APPLICATION = {
    "id": "qt-1",
    "program_id": "hangzhou-2025",
    "requested_fen": 250_000,
    "contract": CONTRACT,
}


def balances(api: ApiClient) -> dict[str, Any]:
    with UnitOfWork(api.engine) as uow:
        return {a.id: ledger.balance(uow, a.id) for a in ledger.list_accounts(uow)}


def test_apply_review_voucher_and_budget_over_http(api: ApiClient, world: Any) -> None:
    tenant = api.token("tenant", "qiantang-llm")
    made = api.http.post("/api/v1/applications", json=APPLICATION, headers=tenant)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "pending" and made.json()["entitled_fen"] == 300_000
    again = api.http.post("/api/v1/applications", json=APPLICATION, headers=tenant)
    assert again.status_code == 201 and again.json() == made.json()
    changed = {**APPLICATION, "requested_fen": 1}
    assert api.http.post("/api/v1/applications", json=changed, headers=tenant).status_code == 409

    reviewer = api.token("reviewer")
    out = api.http.post(
        "/api/v1/applications/qt-1/review", json={"decision": "approve"}, headers=reviewer
    ).json()
    assert out["ok"] and out["result"] == "ok"
    assert out["voucher"]["amount_fen"] == 250_000
    assert out["voucher"]["balance"]["available_fen"] == 250_000

    listed = api.http.get("/api/v1/vouchers", headers=tenant).json()
    assert [v["id"] for v in listed] == ["v-qt-1"]
    one = api.http.get("/api/v1/vouchers/v-qt-1", headers=tenant).json()
    assert [line["side"] for line in one["statement"]] == ["credit"]
    budget = api.http.get("/api/v1/programs/hangzhou-2025/budget", headers=api.token("auditor"))
    assert budget.status_code == 200
    assert budget.json()["years"][0]["paid_fen"] == 250_000
    assert api.http.get("/api/v1/programs/hangzhou-2025/budget", headers=tenant).status_code == 403

    spent = api.http.post(
        "/api/v1/vouchers/v-qt-1/spend",
        json={"transfer_id": "pay-1", "provider_id": "hz-xixi-compute", "amount_fen": 100_000},
        headers=tenant,
    )
    assert spent.json() == {"ok": True, "result": "ok", "reason": "", "rejection": None}


def test_bad_input_over_http_is_clear_and_changes_nothing(api: ApiClient, world: Any) -> None:
    tenant = api.token("tenant", "qiantang-llm")
    api.http.post("/api/v1/applications", json=APPLICATION, headers=tenant)
    api.http.post(
        "/api/v1/applications/qt-1/review",
        json={"decision": "approve"},
        headers=api.token("reviewer"),
    )
    before = balances(api)
    bad = [
        ({**APPLICATION, "id": "x1", "program_id": "nope"}, 422, "program_id"),
        ({**APPLICATION, "id": "x1", "requested_fen": -5}, 422, "requested_fen"),
        ({**APPLICATION, "id": "x1", "contract": {**CONTRACT, "currency": "USD"}}, 422, None),
    ]
    for body, status, field in bad:
        answer = api.http.post("/api/v1/applications", json=body, headers=tenant)
        assert answer.status_code == status, answer.text
        if field:
            assert answer.json()["detail"][0]["field"] == field
    other = api.token("tenant", "deepharbor-ai")
    spend = {"transfer_id": "p", "provider_id": "hz-xixi-compute", "amount_fen": 10}
    answer = api.http.post("/api/v1/vouchers/v-qt-1/spend", json=spend, headers=other)
    assert answer.status_code == 403 and "another tenant" in answer.json()["detail"]
    negative = {**spend, "amount_fen": -1}
    answer = api.http.post("/api/v1/vouchers/v-qt-1/spend", json=negative, headers=tenant)
    assert answer.status_code == 422
    wrong = {**spend, "currency": "USD"}
    answer = api.http.post("/api/v1/vouchers/v-qt-1/spend", json=wrong, headers=tenant)
    assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == "currency"
    auditor = api.token("auditor")
    answer = api.http.post("/api/v1/applications", json=APPLICATION, headers=auditor)
    assert answer.status_code == 403
    assert balances(api) == before


def test_tenants_see_only_their_own_applications(api: ApiClient, world: Any) -> None:
    qt = api.token("tenant", "qiantang-llm")
    dh = api.token("tenant", "deepharbor-ai")
    api.http.post("/api/v1/applications", json=APPLICATION, headers=qt)
    dh_app = {**APPLICATION, "id": "dh-1", "program_id": "beijing-2023"}
    assert api.http.post("/api/v1/applications", json=dh_app, headers=dh).status_code == 201
    assert [a["id"] for a in api.http.get("/api/v1/applications", headers=qt).json()] == ["qt-1"]
    assert api.http.get("/api/v1/applications/qt-1", headers=dh).status_code == 403
    assert (
        api.http.get("/api/v1/applications?tenant_id=qiantang-llm", headers=dh).status_code == 403
    )
    seen = api.http.get("/api/v1/applications", headers=api.token("auditor")).json()
    assert {a["id"] for a in seen} == {"qt-1", "dh-1"}
    # a tenant may not review, nor apply for another tenant
    review = {"decision": "approve"}
    assert (
        api.http.post("/api/v1/applications/qt-1/review", json=review, headers=qt).status_code
        == 403
    )
    forged = {**APPLICATION, "id": "f1", "tenant_id": "qiantang-llm"}
    assert api.http.post("/api/v1/applications", json=forged, headers=dh).status_code == 403


def test_beijing_domestic_gpu_purchase_claim_over_http(api: ApiClient, world: Any) -> None:
    buyer = Tenant(
        "yanqi-compute", "Yanqi Compute", "Beijing", date(2020, 1, 1), 80, 10**9, "CNY",
        "compute-services", False,
    )  # fmt: skip
    with UnitOfWork(api.engine) as uow:
        registry.create(uow, SYSTEM, buyer)
    auth = api.token("tenant", "yanqi-compute")
    body = {
        "id": "k1",
        "program_id": "beijing-domestic-gpu-purchase",
        "accelerator_id": "910B",
        "count": 64,
        "amount_fen": 1_280_000_000,
        "invoice_id": "INV-2026-001",
        "purchased_on": "2026-02-10",
    }
    made = api.http.post("/api/v1/claims", json=body, headers=auth)
    assert made.status_code == 201, made.text
    assert made.json()["subsidy_fen"] == 128_000_000  # 10 % of 12.8M yuan
    dup = api.http.post("/api/v1/claims", json={**body, "id": "k2"}, headers=auth)
    assert dup.status_code == 409 and "INV-2026-001" in dup.json()["detail"]
    foreign = {**body, "id": "k3", "invoice_id": "INV-2", "accelerator_id": "H100-SXM"}
    refused = api.http.post("/api/v1/claims", json=foreign, headers=auth).json()
    assert refused["status"] == "ineligible"
    reviewed = api.http.post(
        "/api/v1/claims/k1/review", json={"decision": "approve"}, headers=api.token("reviewer")
    ).json()
    assert reviewed["ok"] and reviewed["claim"]["payout_transfer_id"] == "payout:k1"
    with UnitOfWork(api.engine) as uow:
        assert ledger.balance(uow, "wallet:yanqi-compute").available_minor == 128_000_000
        assert ledger.check_invariants(uow) == []
    mine = api.http.get("/api/v1/claims", headers=auth).json()
    assert {c["id"] for c in mine} == {"k1", "k3"}
    assert api.http.get("/api/v1/claims", headers=api.token("tenant", "qiantang-llm")).json() == []


def test_claim_fields_past_their_columns_are_a_422_and_file_nothing(
    api: ApiClient, world: Any
) -> None:
    """On PostgreSQL a count past 32 bits was a 500 from the database (found by probing bounds)."""
    body = {
        "id": "k-big",
        "program_id": "beijing-domestic-gpu-purchase",
        "buyer_id": "deepharbor-ai",
        "accelerator_id": "910B",
        "count": 8,
        "amount_fen": 10_000_000,
        "invoice_id": "INV-BIG",
        "purchased_on": "2026-03-01",
    }
    auth = api.token("officer")
    for field, value in {"count": 2**31, "seller_id": "s" * 65, "invoice_id": "i" * 129}.items():
        r = api.http.post("/api/v1/claims", json={**body, field: value}, headers=auth)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["loc"][-1] == field
    assert api.http.get("/api/v1/claims", headers=auth).json() == []
