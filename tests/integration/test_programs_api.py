"""Programs and subsidies over HTTP on the demo world, on both databases."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiClient

CONTRACT = {
    "provider_id": "hz-xixi-compute",
    "accelerator_id": "910B",
    "accelerator_hours": 1000,
    "amount_fen": 890_000,
    "currency": "CNY",
    "start_on": "2026-02-01",
}


def test_every_role_reads_programs(api: ApiClient, world: Any) -> None:
    for role, org in (("auditor", None), ("tenant", "qiantang-llm"), ("provider", "sz-qianhai-dc")):
        listed = api.http.get("/api/v1/programs", headers=api.token(role, org))
        assert listed.status_code == 200 and len(listed.json()) >= 8
    one = api.http.get("/api/v1/programs/hangzhou-2025", headers=api.token("auditor"))
    assert one.json()["rates"] == {"domestic": "3/10", "foreign": "1/5"}
    assert any("30 %" in line for line in one.json()["explanation"])
    assert api.http.get("/api/v1/programs/nope", headers=api.token("auditor")).status_code == 404


def test_hangzhou_domestic_vs_foreign_on_demo_offers(api: ApiClient, world: Any) -> None:
    auth = api.token("tenant", "qiantang-llm")
    body = {"program_id": "hangzhou-2025", "tenant_id": "qiantang-llm", "contract": CONTRACT}
    domestic = api.http.post("/api/v1/subsidy", json=body, headers=auth)
    assert domestic.status_code == 200, domestic.text
    assert domestic.json()["subsidy_fen"] == 267_000 and domestic.json()["rate"] == "3/10"
    foreign = {**body, "contract": {**CONTRACT, "accelerator_id": "H20", "amount_fen": 820_000}}
    out = api.http.post("/api/v1/subsidy", json=foreign, headers=auth).json()
    assert out["subsidy_fen"] == 164_000 and out["rate_float"] == 0.2


def test_beijing_related_provider_resolved_from_registry(api: ApiClient, world: Any) -> None:
    # bj-yizhuang-cloud names deepharbor-ai as a related party in the registry.
    contract = {**CONTRACT, "provider_id": "bj-yizhuang-cloud", "start_on": "2025-03-01"}
    body = {"program_id": "beijing-2023", "tenant_id": "deepharbor-ai", "contract": contract}
    out = api.http.post("/api/v1/subsidy", json=body, headers=api.token("officer")).json()
    assert out["eligible"] is False
    assert [r["check"] for r in out["reasons"] if not r["passed"]] == ["related-parties"]


def test_tenants_ask_only_about_themselves_and_bad_input_is_422(api: ApiClient, world: Any) -> None:
    auth = api.token("tenant", "qiantang-llm")
    other = {"program_id": "beijing-2023", "tenant_id": "deepharbor-ai", "contract": CONTRACT}
    assert api.http.post("/api/v1/subsidy", json=other, headers=auth).status_code == 403
    auditor = api.token("auditor")
    body = {"program_id": "hangzhou-2025", "tenant_id": "qiantang-llm", "contract": CONTRACT}
    assert api.http.post("/api/v1/subsidy", json=body, headers=auditor).status_code == 403
    for change, field in (
        ({"amount_fen": -1}, "amount_fen"),
        ({"currency": "USD"}, "currency"),
        ({"provider_id": "ghost-dc"}, "provider_id"),
        ({"accelerator_id": "no-such-chip"}, "accelerator_id"),
    ):
        bad = {**body, "contract": {**CONTRACT, **change}}
        resp = api.http.post("/api/v1/subsidy", json=bad, headers=auth)
        assert resp.status_code == 422, (field, resp.text)
        assert any(field in err["loc"] for err in resp.json()["detail"]), resp.json()
    unknown = {**body, "program_id": "atlantis-2030"}
    assert api.http.post("/api/v1/subsidy", json=unknown, headers=auth).status_code == 404
