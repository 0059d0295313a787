"""Providers, sites, offers and tenants over HTTP, on both databases, with roles enforced."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from suanli.store.tables.foundation import offers
from tests.conftest import ApiClient

OFFER: dict[str, Any] = {
    "id": "o-test",
    "site_id": "bj-zgc-1",
    "accelerator_id": "h20",
    "count": 8,
    "price_fen_per_accel_hour": 800,
    "currency": "CNY",
    "available_from": "2026-01-01T00:00:00Z",
    "available_until": "2026-12-31T00:00:00Z",
}


def _offer_count(api: ApiClient) -> int:
    with api.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(offers)).scalar_one())


def test_demo_world_is_served(api: ApiClient, world: Any) -> None:
    auth = api.token("auditor")
    accs = api.http.get("/api/v1/accelerators", headers=auth).json()
    assert len(accs) >= 25
    listed = api.http.get("/api/v1/offers", headers=auth).json()
    assert len(listed) >= 30
    assert api.http.get("/healthz").json()["status"] == "ok"


def test_provider_creates_offer_idempotently(api: ApiClient, world: Any) -> None:
    auth = api.token("provider", "bj-zhongguancun-dc")
    first = api.http.post("/api/v1/offers", json=OFFER, headers=auth)
    assert first.status_code == 201, first.text
    assert first.json()["accelerator_id"] == "nvidia-h20-96gb"  # alias resolved to catalog id
    again = api.http.post("/api/v1/offers", json=OFFER, headers=auth)
    assert again.status_code == 201 and again.json() == first.json()
    clash = api.http.post("/api/v1/offers", json={**OFFER, "count": 9}, headers=auth)
    assert clash.status_code == 409


def test_bad_offers_are_refused_naming_the_field(api: ApiClient, world: Any) -> None:
    auth = api.token("provider", "bj-zhongguancun-dc")
    before = _offer_count(api)
    cases = {
        "price_fen_per_accel_hour": {"price_fen_per_accel_hour": 0},
        "count": {"count": -1},
        "accelerator_id": {"accelerator_id": "no-such-chip"},
        "available_until": {"available_until": "2025-01-01T00:00:00Z"},
    }
    for field, change in cases.items():
        resp = api.http.post("/api/v1/offers", json={**OFFER, **change}, headers=auth)
        assert resp.status_code == 422, (field, resp.text)
        assert any(field in err["loc"] for err in resp.json()["detail"]), resp.json()
    assert _offer_count(api) == before


def test_roles_keep_tenants_apart(api: ApiClient, world: Any) -> None:
    tenant = api.token("tenant", "deepharbor-ai")
    assert api.http.post("/api/v1/offers", json=OFFER, headers=tenant).status_code == 403
    assert api.http.get("/api/v1/tenants/qiantang-llm", headers=tenant).status_code == 403
    own = api.http.get("/api/v1/tenants/deepharbor-ai", headers=tenant)
    assert own.status_code == 200
    assert [t["id"] for t in api.http.get("/api/v1/tenants", headers=tenant).json()] == [
        "deepharbor-ai"
    ]
    other_provider = api.token("provider", "sh-lingang-ai")
    assert api.http.post("/api/v1/offers", json=OFFER, headers=other_provider).status_code == 403


def test_auditor_cannot_write(api: ApiClient, world: Any) -> None:
    auditor = api.token("auditor")
    assert api.http.post("/api/v1/offers", json=OFFER, headers=auditor).status_code == 403
    resp = api.http.post("/api/v1/offers/sh-lg-1-910b/retire", headers=auditor)
    assert resp.status_code == 403
    assert api.http.get("/api/v1/tenants/qiantang-llm", headers=auditor).status_code == 200


def test_missing_or_bad_token_is_401(api: ApiClient, world: Any) -> None:
    assert api.http.get("/api/v1/offers").status_code == 401
    bad = {"Authorization": "Bearer sl_nope_nope"}
    assert api.http.get("/api/v1/offers", headers=bad).status_code == 401


def test_update_and_retire_offer(api: ApiClient, world: Any) -> None:
    auth = api.token("provider", "bj-zhongguancun-dc")
    resp = api.http.patch("/api/v1/offers/bj-zgc-1-910b", json={"count": 100}, headers=auth)
    assert resp.status_code == 200 and resp.json()["count"] == 100
    resp = api.http.patch("/api/v1/offers/bj-zgc-1-910b", json={"count": 0}, headers=auth)
    assert resp.status_code == 422
    for bad in ({"cuont": 5}, {"count": True}, {"count": "5"}):  # typo, bool, text: all refused
        resp = api.http.patch("/api/v1/offers/bj-zgc-1-910b", json=bad, headers=auth)
        assert resp.status_code == 422, (bad, resp.text)
        assert list(bad)[0] in str(resp.json()["detail"][0]["loc"])
    assert api.http.post("/api/v1/offers/bj-zgc-1-910b/retire", headers=auth).status_code == 200
    ids = [o["id"] for o in api.http.get("/api/v1/offers", headers=auth).json()]
    assert "bj-zgc-1-910b" not in ids


def test_values_past_the_columns_are_refused_not_a_database_error(
    api: ApiClient, world: Any
) -> None:
    """Found by tests/e2e/test_api_fuzz.py: on PostgreSQL these were 500s from the database."""
    auth = api.token("officer")
    before = _offer_count(api)
    for field, value in {"count": 2**31, "accelerator_id": "h" * 65}.items():
        resp = api.http.post("/api/v1/offers", json={**OFFER, field: value}, headers=auth)
        assert resp.status_code == 422, (field, resp.text)
        assert resp.json()["detail"][0]["loc"][-1] == field
    assert _offer_count(api) == before
    provider = {"id": "p-long", "name": "x" * 201, "city": "Beijing"}
    resp = api.http.post("/api/v1/providers", json=provider, headers=auth)
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"][-1] == "name"
    resp = api.http.patch(
        "/api/v1/providers/bj-zhongguancun-dc", json={"city": "c" * 101}, headers=auth
    )
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"][-1] == "city"


def test_booleans_and_money_take_only_their_json_types(api: ApiClient, world: Any) -> None:
    tenant = {
        "id": "t-strict",
        "name": "Strict AI",
        "registered_city": "Beijing",
        "founded_on": "2024-01-01",
        "headcount": 3,
        "annual_revenue_fen": 0,
        "sector": "ai",
    }
    auth = api.token("officer")
    for value in (0, 1, "yes"):
        resp = api.http.post("/api/v1/tenants", json={**tenant, "is_startup": value}, headers=auth)
        assert resp.status_code == 422 and resp.json()["detail"][0]["loc"][-1] == "is_startup"
    for value in (False, "0", 1.5):  # money is a JSON integer of fen, nothing else
        body = {**tenant, "is_startup": True, "annual_revenue_fen": value}
        resp = api.http.post("/api/v1/tenants", json=body, headers=auth)
        assert (
            resp.status_code == 422 and resp.json()["detail"][0]["loc"][-1] == "annual_revenue_fen"
        )
    resp = api.http.post("/api/v1/tenants", json={**tenant, "is_startup": True}, headers=auth)
    assert resp.status_code == 201, resp.text
