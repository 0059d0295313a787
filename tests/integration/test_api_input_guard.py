"""Input no column can hold is a 422 naming the field, and writes nothing, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from suanli.store.tables import metadata
from tests.conftest import ApiClient


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }


PROVIDER = {"id": "p-guard", "name": "Guard DC", "city": "Beijing", "related_parties": []}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "nul\x00"}, "name"),
        ({"related_parties": ["ok", "x\x00"]}, "related_parties.1"),
        ({"id": "\x00"}, "id"),
    ],
)
def test_nul_in_a_body_is_a_422_naming_the_field(
    api: ApiClient, changes: dict[str, Any], field: str
) -> None:
    before = row_counts(api.engine)
    r = api.http.post(
        "/api/v1/providers", json={**PROVIDER, **changes}, headers=api.token("officer")
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field
    # Only the officer's token was made (and its creation logged): nothing of the refused body.
    made = {"api_tokens": before["api_tokens"] + 1, "audit_log": before["audit_log"] + 1}
    assert row_counts(api.engine) == {**before, **made}


def test_nul_in_a_path_or_query_is_a_422(api: ApiClient) -> None:
    headers = api.token("officer")
    assert api.http.get("/api/v1/providers/a%00b", headers=headers).status_code == 422
    r = api.http.get("/api/v1/reservations", params={"offer_id": "a\x00"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "offer_id"


def test_integers_beyond_64_bits_are_a_422(api: ApiClient) -> None:
    body = {
        "id": "t-guard",
        "name": "Guard AI",
        "registered_city": "Beijing",
        "founded_on": "2024-01-01",
        "headcount": 3,
        "annual_revenue_fen": 2**63,
        "sector": "ai",
        "is_startup": True,
    }
    r = api.http.post("/api/v1/tenants", json=body, headers=api.token("officer"))
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "annual_revenue_fen"


def test_nan_and_infinity_are_a_422(api: ApiClient) -> None:
    headers = {**api.token("officer"), "Content-Type": "application/json"}
    body = '{"workload": {"kind": "inference", "params_b": NaN}, "accelerator": "H100"}'
    r = api.http.post("/api/v1/estimates", content=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "workload.params_b"


def test_a_body_that_is_not_utf8_is_a_422(api: ApiClient) -> None:
    headers = {**api.token("officer"), "Content-Type": "application/json"}
    r = api.http.post("/api/v1/providers", content=b'{"id": "\xff\xfe"}', headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body"]


def test_bodies_are_strict_and_closed(api: ApiClient, world: Any) -> None:
    """A misspelt field or a value of the wrong JSON type is a 422 naming it, and writes nothing."""
    auth = api.token("officer")
    tenant = {
        "id": "strict-co", "name": "Strict Co", "registered_city": "Beijing",
        "founded_on": "2024-01-01", "headcount": 5, "annual_revenue_fen": 0,
        "sector": "ai", "is_startup": True,
    }  # fmt: skip
    for bad, field in (
        ({**tenant, "headcuont": 5}, "headcuont"),
        ({**tenant, "headcount": "5"}, "headcount"),
        ({**tenant, "headcount": True}, "headcount"),
    ):
        resp = api.http.post("/api/v1/tenants", json=bad, headers=auth)
        assert resp.status_code == 422, resp.text
        assert field in resp.json()["detail"][0]["loc"]
    assert api.http.get("/api/v1/tenants/strict-co", headers=auth).status_code == 404
    estimate = {"workload": {"kind": "finetune", "params_b": 7, "tokens_b": 1}, "count": True,
                "accelerator": "H20"}  # fmt: skip
    resp = api.http.post("/api/v1/estimates", json=estimate, headers=auth)
    assert resp.status_code == 422 and "count" in resp.json()["detail"][0]["loc"]
    assert api.http.post("/api/v1/tenants", json=tenant, headers=auth).status_code == 201
