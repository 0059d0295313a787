"""POST /estimates and /estimates/offers over the demo world, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiClient

SEVEN_B_FT = {"kind": "finetune", "params_b": 7, "tokens_b": 20, "seq_len": 4096}


def test_estimate_every_offer(api: ApiClient, world: Any) -> None:
    tenant = api.token("tenant", "deepharbor-ai")
    r = api.http.post("/api/v1/estimates/offers", json={"workload": SEVEN_B_FT}, headers=tenant)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["feasible"] + body["infeasible"] == len(body["estimates"]) >= 20
    feasible = [e for e in body["estimates"] if e["feasible"]]
    assert feasible and all(e["cost_fen"] > 0 and e["count"] >= e["min_count"] for e in feasible)
    costs = [e["cost_fen"] for e in feasible]
    assert costs == sorted(costs)
    # Site PUE reaches the energy figure: the same chip at two PUEs differs by their ratio.
    by_offer = {e["offer_id"]: e for e in feasible}
    assert by_offer["sz-qh-1-910b"]["energy_kwh"] / by_offer["sh-lg-1-910b"]["energy_kwh"] > 1


def test_fp8_without_fallback_refuses_chips_without_fp8(api: ApiClient, world: Any) -> None:
    officer = api.token("officer")
    workload = {**SEVEN_B_FT, "precision": "fp8"}
    r = api.http.post("/api/v1/estimates/offers", json={"workload": workload}, headers=officer)
    assert r.status_code == 200, r.text
    outcome = {e["offer_id"]: e for e in r.json()["estimates"]}
    assert outcome["bj-zgc-1-910b"]["feasible"] is False
    assert "fp8" in outcome["bj-zgc-1-910b"]["reason"]
    assert outcome["bj-zgc-1-h800"]["feasible"] is True
    assert outcome["bj-zgc-1-h800"]["precision_used"] == "fp8"


def test_estimate_one_offer_and_one_accelerator(api: ApiClient, world: Any) -> None:
    provider = api.token("provider", "bj-zhongguancun-dc")
    by_offer = api.http.post(
        "/api/v1/estimates",
        json={"workload": SEVEN_B_FT, "offer_id": "bj-zgc-1-h800"},
        headers=provider,
    )
    assert by_offer.status_code == 200, by_offer.text
    assert by_offer.json()["accelerator_id"] == "nvidia-h800-sxm5-80gb"
    assert by_offer.json()["cost_fen"] > 0
    bare = api.http.post(
        "/api/v1/estimates",
        json={
            "workload": {"kind": "pretrain", "params_b": 70, "tokens_b": 2000},
            "accelerator": "A100-80GB",
            "count": 2048,
        },
        headers=provider,
    )
    assert bare.status_code == 200
    # 6·N·D = 8.4e23 plus attention 12·L·d·s on the guessed 71 × 9088 shape at 4096 tokens.
    expected = (6 * 70e9 + 12 * 71 * 9088 * 4096) * 2000e9
    assert bare.json()["flops"] == pytest.approx(expected) and bare.json()["cost_fen"] is None


def test_bad_requests(api: ApiClient, world: Any) -> None:
    tenant = api.token("tenant", "deepharbor-ai")
    post = api.http.post
    negative = {"workload": {**SEVEN_B_FT, "tokens_b": -1}, "accelerator": "A100"}
    r = post("/api/v1/estimates", json=negative, headers=tenant)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "workload.tokens_b"
    r = post(
        "/api/v1/estimates", json={"workload": SEVEN_B_FT, "accelerator": "zz9"}, headers=tenant
    )
    assert r.status_code == 422 and "zz9" in r.text
    assert r.json()["detail"][0]["field"] == "accelerator"
    r = post("/api/v1/estimates", json={"workload": SEVEN_B_FT, "offer_id": "nope"}, headers=tenant)
    assert r.status_code == 404
    r = post("/api/v1/estimates", json={"workload": SEVEN_B_FT}, headers=tenant)
    assert r.status_code == 422
    agent = api.token("agent", "bj-zgc-1")
    r = post("/api/v1/estimates/offers", json={"workload": SEVEN_B_FT}, headers=agent)
    assert r.status_code == 403


def test_figures_too_large_for_any_workload_are_a_422(api: ApiClient, world: Any) -> None:
    """params_b=1e300 overflowed to infinity inside the estimator and answered 500."""
    auth = api.token("officer")
    for field in ("params_b", "tokens_b"):
        workload = {"kind": "pretrain", "params_b": 7, "tokens_b": 1, field: 1e300}
        for url, body in (
            ("/api/v1/estimates", {"workload": workload, "accelerator": "H100"}),
            ("/api/v1/estimates/offers", {"workload": workload}),
        ):
            r = api.http.post(url, json=body, headers=auth)
            assert r.status_code == 422, (url, r.text)
            assert r.json()["detail"][0]["field"] == f"workload.{field}"
    biggest = {"kind": "pretrain", "params_b": 1e12, "tokens_b": 1e12}
    r = api.http.post(
        "/api/v1/estimates", json={"workload": biggest, "accelerator": "H100"}, headers=auth
    )
    assert r.status_code == 200 and r.json()["code"] == "too_large"
