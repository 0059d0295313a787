"""An offer naming a system: capacity counted in chips of it or in whole systems, over HTTP on
both databases; offers naming no system keep working as before."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from suanli.store.tables.foundation import offers
from tests.conftest import ApiClient

BASE: dict[str, Any] = {
    "site_id": "bj-zgc-1",
    "accelerator_id": "910C",
    "price_fen_per_accel_hour": 1500,
    "currency": "CNY",
    "available_from": "2026-01-01T00:00:00Z",
    "available_until": "2026-12-31T00:00:00Z",
}


def _count(api: ApiClient) -> int:
    with api.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(offers)).scalar_one())


def test_capacity_in_whole_systems(api: ApiClient, world: Any) -> None:
    auth = api.token("provider", "bj-zhongguancun-dc")
    body = {**BASE, "id": "o-cm384", "system_id": "CM384", "capacity_unit": "systems",
            "count": 768}  # fmt: skip
    resp = api.http.post("/api/v1/offers", json=body, headers=auth)
    assert resp.status_code == 201, resp.text
    got = resp.json()
    assert got["system_id"] == "cloudmatrix-384"  # alias resolved to the catalog id
    assert got["accelerator_id"] == "huawei-ascend-910c"
    assert (got["count"], got["chips_per_system"], got["systems"]) == (768, 384, 2)
    again = api.http.get("/api/v1/offers/o-cm384", headers=auth).json()
    assert again == got


def test_capacity_in_chips_of_a_system(api: ApiClient, world: Any) -> None:
    auth = api.token("provider", "bj-zhongguancun-dc")
    body = {**BASE, "id": "o-cm384-chips", "system_id": "cloudmatrix-384", "count": 16}
    resp = api.http.post("/api/v1/offers", json=body, headers=auth)
    assert resp.status_code == 201, resp.text
    got = resp.json()
    assert (got["capacity_unit"], got["count"], got["systems"]) == ("chips", 16, None)
    assert got["chips_per_system"] == 384
    # The provider recounts it in whole systems: 16 chips are not a whole CloudMatrix.
    bad = api.http.patch(
        "/api/v1/offers/o-cm384-chips", json={"capacity_unit": "systems"}, headers=auth
    )
    assert bad.status_code == 422 and "count" in bad.text
    ok = api.http.patch(
        "/api/v1/offers/o-cm384-chips",
        json={"capacity_unit": "systems", "count": 384},
        headers=auth,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["systems"] == 1


def test_bad_system_offers_refused_naming_the_field(api: ApiClient, world: Any) -> None:
    auth = api.token("provider", "bj-zhongguancun-dc")
    before = _count(api)
    cases = {
        "system_id": {"system_id": "no-such-system", "count": 8},
        "accelerator_id": {"system_id": "gb200-nvl72", "count": 72},  # NVL72 is not 910C
        "count": {"system_id": "cloudmatrix-384", "capacity_unit": "systems", "count": 100},
        "capacity_unit": {"capacity_unit": "systems", "count": 8},  # no system named
    }
    for field, change in cases.items():
        resp = api.http.post("/api/v1/offers", json={**BASE, "id": "o-bad", **change}, headers=auth)
        assert resp.status_code == 422, (field, resp.text)
        assert any(field in err["loc"] for err in resp.json()["detail"]), resp.json()
    assert _count(api) == before


def test_offers_naming_no_system_are_unchanged(api: ApiClient, world: Any) -> None:
    auth = api.token("auditor")
    listed = api.http.get("/api/v1/offers", headers=auth).json()
    assert listed
    for offer in listed:
        assert offer["system_id"] is None and offer["capacity_unit"] == "chips"
        assert offer["chips_per_system"] is None and offer["systems"] is None


def test_systems_are_served(api: ApiClient, world: Any) -> None:
    auth = api.token("tenant", "deepharbor-ai")
    listed = api.http.get("/api/v1/systems", headers=auth).json()
    assert {"cloudmatrix-384", "gb200-nvl72"} <= {s["id"] for s in listed}
    domestic = api.http.get("/api/v1/systems", params={"origin": "domestic"}, headers=auth)
    assert {s["chip"] for s in domestic.json()} <= {
        "huawei-ascend-910c", "huawei-ascend-910b", "huawei-ascend-910a"
    }  # fmt: skip
    cm = api.http.get("/api/v1/systems/Atlas 900 A3 SuperPoD", headers=auth)
    assert cm.status_code == 200 and cm.json()["id"] == "cloudmatrix-384"
    assert cm.json()["figures"]["power_kw"]["value"] == 559
    assert api.http.get("/api/v1/systems/no-such", headers=auth).status_code == 404
