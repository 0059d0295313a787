"""Reports over HTTP on a small world with settled runs: every report, their totals against the
ledger and the runs, CSV and Parquet, and who reads which rows."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq
import pytest

from suanli.domain.jobs import JobSpec
from suanli.services import runs, statements
from suanli.store.uow import UnitOfWork
from tests.agent_support import TENANT, fund

OTHER = "qiantang-llm"
NAMES = ("domestic-share", "burn", "utilisation", "energy", "fairness")


def _settle(engine, request_id: str, tenant: str, offer_id: str, acc_s: float) -> dict[str, Any]:
    spec = JobSpec(command=("true",), accelerators=2, time_limit_s=600)
    with UnitOfWork(engine) as uow:
        done = runs.enqueue_run(
            uow, request_id=request_id, tenant_id=tenant, offer_id=offer_id, spec=spec,
            voucher=fund(engine, tenant) if tenant != OTHER or request_id.endswith("1") else None,
        )  # fmt: skip
        uow.commit()
    assert done.run is not None, done.reason
    with UnitOfWork(engine) as uow:
        leased = runs.lease_next(uow, "bj-zgc-1", "agent-1", 30)
        assert leased is not None
        lease = leased.to_dict()
        runs.report_usage(
            uow,
            lease["id"],
            lease["lease_id"],
            1,
            accelerator_seconds=acc_s,
            wall_seconds=acc_s / 2,
        )
        finished = runs.complete(uow, lease["id"], lease["lease_id"], "success").to_dict()
        uow.commit()
    return finished


@pytest.fixture
def settled(world) -> list[dict[str, Any]]:
    return [
        _settle(world, "rp-1", TENANT, "bj-zgc-1-910b", 3600),
        _settle(world, "rp-2", TENANT, "bj-zgc-1-a800", 1800),
        _settle(world, "rp-o1", OTHER, "bj-zgc-1-910b", 7200),
    ]


def _get(api, name: str, headers: dict[str, str], **query: str):
    return api.http.get(f"/api/v1/reports/{name}", params=query, headers=headers)


def test_every_report_reconciles_with_runs_and_ledger(settled, api) -> None:
    auth = api.token("auditor")
    got = {}
    for name in NAMES:
        resp = _get(api, name, auth)
        assert resp.status_code == 200, resp.text
        got[name] = resp.json()
        assert got[name]["rows"], name
    hours = sum(r["accelerator_seconds"] for r in _statement_lines(api)) / 3600
    assert hours == pytest.approx(3.5)
    for name, key in (
        ("domestic-share", "accelerator_hours"), ("utilisation", "used_accelerator_hours"),
        ("energy", "accelerator_hours"), ("fairness", "accelerator_hours"),
    ):  # fmt: skip
        assert sum(r[key] for r in got[name]["rows"]) == pytest.approx(hours, rel=1e-6), name
    billed = sum(run["billed_fen"] for run in settled)
    assert sum(r["spend_fen"] for r in got["domestic-share"]["rows"]) == billed
    domestic = [
        r for r in got["domestic-share"]["rows"] if r["provider_id"] == "bj-zhongguancun-dc"
    ]
    dom_hours = sum(r["domestic_accelerator_hours"] for r in domestic)
    assert dom_hours == pytest.approx(3.0)  # the 910B runs; the A800 is foreign
    voucher_paid = sum(run["voucher_fen"] for run in settled)
    assert sum(r["spent_fen"] for r in got["burn"]["rows"]) == voucher_paid > 0
    energy = {r["run_id"]: r for r in got["energy"]["rows"]}
    a800 = energy[settled[1]["id"]]
    assert a800["province"] == "Beijing" and a800["kg_co2_per_kwh"] == pytest.approx(0.6776)
    assert a800["kwh"] == pytest.approx(a800["power_w_per_chip"] * 0.5 * a800["pue"] / 1000)
    fairness = got["fairness"]["summary"]
    assert 0.5 <= fairness["jain_index"] <= 1.0
    targets = {t["target_id"]: t for t in got["domestic-share"]["summary"]["targets"]}
    assert targets["beijing-2027-100pct"]["status"] == "off track"  # the A800s are offered
    assert all(s["url"].startswith("https://") for s in got["domestic-share"]["sources"])


def _statement_lines(api) -> list[dict[str, Any]]:
    from datetime import UTC, datetime

    from suanli.domain.roles import SYSTEM

    month = datetime.now(UTC).strftime("%Y-%m")
    with UnitOfWork(api.engine) as uow:
        shown = statements.statement(uow, SYSTEM, month, provider="bj-zhongguancun-dc")
        lines = shown.to_dict()["lines"]
    return list(lines)


def test_csv_and_parquet_carry_the_rows(settled, api) -> None:
    auth = api.token("officer")
    body = _get(api, "energy", auth).json()
    csv_resp = _get(api, "energy", auth, format="csv")
    assert csv_resp.headers["content-type"].startswith("text/csv")
    lines = csv_resp.text.splitlines()
    assert lines[0].split(",") == body["columns"] and len(lines) == 1 + len(body["rows"])
    parquet = _get(api, "utilisation", auth, format="parquet")
    assert parquet.status_code == 200
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.num_rows == len(_get(api, "utilisation", auth).json()["rows"])


def test_tenants_and_providers_read_only_their_own_rows(settled, api) -> None:
    tenant = api.token("tenant", TENANT)
    energy = _get(api, "energy", tenant).json()["rows"]
    assert {r["tenant_id"] for r in energy} == {TENANT} and len(energy) == 2
    fairness = _get(api, "fairness", tenant).json()
    assert [r["tenant_id"] for r in fairness["rows"]] == [TENANT]
    assert fairness["summary"] == {}  # nothing aggregated over other tenants
    for name in ("burn", "domestic-share", "utilisation"):
        assert _get(api, name, tenant).status_code == 403, name
    provider = api.token("provider", "bj-zhongguancun-dc")
    util = _get(api, "utilisation", provider).json()["rows"]
    assert util and {r["provider_id"] for r in util} == {"bj-zhongguancun-dc"}
    other = api.token("provider", "hz-xixi-compute")
    assert _get(api, "energy", other).json()["rows"] == []
    assert _get(api, "fairness", provider).status_code == 403
    assert _get(api, "burn", api.token("agent", "bj-zgc-1")).status_code == 403
    bad = _get(api, "nonsense", api.token("officer"))
    assert bad.status_code == 422 and "name" in bad.text
