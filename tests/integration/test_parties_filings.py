"""Related parties and model filings on SQLite and PostgreSQL: a Beijing voucher refuses to pay
a provider in the tenant's own group (quote, submission, spend; the ledger unchanged), a
tenant's ownership waits for review, a provider's is the officer's; a public inference request
names a filed model; officers add filings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from suanli.domain.registry import Provider, Tenant
from suanli.domain.roles import SYSTEM, Principal, Role
from suanli.domain.subsidy_facts import Contract
from suanli.errors import PermissionDenied
from suanli.rejection import Code
from suanli.services import applications as apps
from suanli.services import exchange, registry, settlement
from suanli.services.quotes import quote
from suanli.services.vouchers import spend_voucher
from suanli.store.uow import UnitOfWork
from tests.conftest import ApiClient
from tests.integration.exchange_support import available, counts

TENANT = "deepharbor-ai"  # Beijing; beijing-2023 forbids affiliated suppliers
WHO = Principal(Role.TENANT, TENANT)
AT = datetime(2025, 6, 2, tzinfo=UTC)  # inside beijing-2023's validity
ZGC = "bj-zhongguancun-dc"  # accredited by beijing-2023
FILED = "Beijing-DeepseekChat-202404280016"


def _beijing_voucher(engine: Engine) -> str:
    contract = Contract(ZGC, "910B", Fraction(1000), 1_000_000, "CNY", date(2025, 6, 1),
                        date(2025, 12, 31))  # fmt: skip
    with UnitOfWork(engine) as uow:
        apps.apply(
            uow, SYSTEM, application_id="bj-dh-1", program_id="beijing-2023", tenant_id=TENANT,
            requested_fen=200_000, contract=contract, now=AT,
        )  # fmt: skip
    with UnitOfWork(engine) as uow:
        out = apps.review(uow, Principal(Role.REVIEWER, None), "bj-dh-1", "approve", now=AT)
        assert out.ok and out.voucher is not None, out.reason
    with UnitOfWork(engine) as uow:
        settlement.fund_wallet(uow, TENANT, 50_000_000, "CNY", f"topup:{TENANT}")
        uow.commit()
    return out.voucher.id


def _same_group(engine: Engine) -> None:
    """The tenant proposes its parent (a reviewer confirms); the officer records the provider's."""
    with UnitOfWork(engine) as uow:
        registry.amend(uow, WHO, Tenant, TENANT, {"parent_id": "harbor-holdings"})
    with UnitOfWork(engine, read_only=True) as uow:
        assert registry.get(uow, SYSTEM, Tenant, TENANT).parent_id is None  # waits for review
    with UnitOfWork(engine) as uow:
        registry.decide_proposal(uow, Principal(Role.REVIEWER, None), TENANT, confirm=True)
    with UnitOfWork(engine) as uow, pytest.raises(PermissionDenied, match="parent_id"):
        registry.amend(uow, Principal(Role.PROVIDER, ZGC), Provider, ZGC,
                       {"parent_id": "someone-else"})  # fmt: skip
    with UnitOfWork(engine) as uow:
        registry.amend(uow, SYSTEM, Provider, ZGC, {"parent_id": "harbor-holdings"})


def _request(rid: str, voucher: str, **kw: Any) -> dict[str, Any]:
    body = {"id": rid, "tenant_id": TENANT, "workload": {"kind": "finetune", "params_b": 1,
            "tokens_b": 0.05}, "voucher_ids": [voucher], "spec": {"command": ["true"]}}  # fmt: skip
    return {**body, **kw}


def test_a_related_party_is_refused_in_quotes_submissions_and_spends(world: Engine) -> None:
    engine = world
    voucher = _beijing_voucher(engine)
    with UnitOfWork(engine, read_only=True) as uow:
        before = quote(uow, WHO, exchange.request_from_dict(_request("q0", voucher)), now=AT)
    assert any(r.provider_id == ZGC for r in before.rows)  # payable before the group is known
    _same_group(engine)
    ledger_before, rows_before = available(engine, f"voucher:{voucher}"), counts(engine)
    with UnitOfWork(engine, read_only=True) as uow:
        q = quote(uow, WHO, exchange.request_from_dict(_request("q1", voucher)), now=AT)
    assert not any(r.provider_id == ZGC for r in q.rows)
    zgc = [r for r in q.refused if r.offer_id.startswith("bj-zgc")]
    assert zgc and {r.code for r in zgc} == {Code.RELATED_PARTY}
    assert "deepharbor-ai and bj-zhongguancun-dc share the parent harbor-holdings" in zgc[0].reason
    body = _request("s1", voucher, offer_ids=["bj-zgc-1-910b"])
    with UnitOfWork(engine) as uow:
        done = exchange.submit(uow, WHO, exchange.request_from_dict(body), now=AT)
    assert done.status == "refused" and done.rejection is not None
    assert done.rejection.code is Code.RELATED_PARTY and "share the parent" in done.reason
    with UnitOfWork(engine) as uow:
        spent = spend_voucher(uow, WHO, voucher, provider_id=ZGC, amount_fen=10_000,
                              currency="CNY", transfer_id="t1", now=AT)  # fmt: skip
    assert spent.rejection is not None and spent.rejection.code is Code.RELATED_PARTY
    assert spent.rejection.field == "provider_id" and "share the parent" in spent.reason
    assert available(engine, f"voucher:{voucher}") == ledger_before
    assert counts(engine) == rows_before


def test_ownership_over_http_waits_for_review_and_names_bad_fields(
    api: ApiClient, world: Any
) -> None:
    tenant = api.token("tenant", TENANT)
    change = {"beneficial_owners": ["li-ming"], "parent_id": "harbor-holdings"}
    answer = api.http.patch(f"/api/v1/tenants/{TENANT}", json=change, headers=tenant)
    assert answer.status_code == 200, answer.text
    assert answer.json()["beneficial_owners"] == [] and answer.json()["parent_id"] is None
    assert answer.json()["proposal"]["facts"] == change
    bad = api.http.patch(f"/api/v1/tenants/{TENANT}", json={"parent_id": TENANT}, headers=tenant)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "parent_id"
    provider = api.token("provider", ZGC)
    refused = api.http.patch(f"/api/v1/providers/{ZGC}", json={"beneficial_owners": ["li-ming"]},
                             headers=provider)  # fmt: skip
    assert refused.status_code == 403
    officer = api.token("officer")
    done = api.http.patch(f"/api/v1/providers/{ZGC}", json={"beneficial_owners": ["li-ming"]},
                          headers=officer)  # fmt: skip
    assert done.status_code == 200 and done.json()["beneficial_owners"] == ["li-ming"]


def _inference(rid: str, **kw: Any) -> dict[str, Any]:
    workload = {"kind": "inference", "params_b": 7, "requests": 1000, "tokens_in": 500,
                "tokens_out": 200}  # fmt: skip
    return {"id": rid, "tenant_id": "qiantang-llm", "workload": workload, **kw}


def test_a_public_inference_request_names_a_filed_model(api: ApiClient, world: Any) -> None:
    tenant = api.token("tenant", "qiantang-llm")
    refused = api.http.post("/api/v1/quotes", json=_inference("p1", public_facing=True),
                            headers=tenant)  # fmt: skip
    assert refused.status_code == 409
    rejection = refused.json()["rejection"]
    assert rejection["code"] == "model_not_filed" and rejection["field"] == "model_filing"
    unknown = _inference("p2", public_facing=True, model_filing="Beijing-NotFiled-20240101")
    answer = api.http.post("/api/v1/quotes", json=unknown, headers=tenant)
    assert answer.status_code == 409 and "not in the filing registry" in answer.text
    filed = api.http.post("/api/v1/quotes", json=_inference("p3", public_facing=True,
                          model_filing=FILED), headers=tenant)  # fmt: skip
    assert filed.status_code == 200 and filed.json()["rejection"] is None
    assert filed.json()["feasible"]
    private = api.http.post("/api/v1/quotes", json=_inference("p4"), headers=tenant)
    assert private.status_code == 200 and private.json()["rejection"] is None
    training = {**_inference("p5", public_facing=True), "workload": {"kind": "finetune",
                "params_b": 1, "tokens_b": 0.05}}  # fmt: skip
    bad = api.http.post("/api/v1/quotes", json=training, headers=tenant)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "public_facing"
    malformed = _inference("p6", public_facing=True, model_filing="not a number")
    bad = api.http.post("/api/v1/quotes", json=malformed, headers=tenant)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "model_filing"


NEW = {
    "filing_number": "Shanghai-TestService-202611010001",
    "name": "Test service",
    "developer": "Test Co",
    "source_url": "https://www.cac.gov.cn/2024-04/02/c_1713729983803145.htm",
    "source_title": "a CAC batch",
    "source_date": "2026-11-02",
}


def test_an_officer_adds_a_filing_and_bad_input_names_the_field(api: ApiClient, world: Any) -> None:
    officer, tenant = api.token("officer"), api.token("tenant", "qiantang-llm")
    assert api.http.post("/api/v1/filings", json=NEW, headers=tenant).status_code == 403
    made = api.http.post("/api/v1/filings", json=NEW, headers=officer)
    assert made.status_code == 201 and made.json()["confidence"] == "registry"
    again = api.http.post("/api/v1/filings", json=NEW, headers=officer)
    assert again.status_code == 201 and again.json() == made.json()
    other = api.http.post("/api/v1/filings", json={**NEW, "name": "Else"}, headers=officer)
    assert other.status_code == 409
    for change, field in (({"filing_number": "nope"}, "filing_number"),
                          ({"source_url": "ftp://x"}, "source_url"),
                          ({"source_date": "2999-01-01"}, "source_date")):  # fmt: skip
        bad = {**NEW, "filing_number": "Shanghai-Bad-202611010002", **change}
        answer = api.http.post("/api/v1/filings", json=bad, headers=officer)
        assert answer.status_code == 422 and answer.json()["detail"][0]["field"] == field
    listed = api.http.get("/api/v1/filings", headers=tenant).json()
    numbers = [f["filing_number"] for f in listed]
    assert NEW["filing_number"] in numbers and FILED in numbers and len(numbers) >= 18
    one = api.http.get(f"/api/v1/filings/{FILED}", headers=tenant).json()
    assert one["source_url"].startswith("https://") and one["developer"]
    assert api.http.get("/api/v1/filings/Beijing-Nope-20240101", headers=tenant).status_code == 404


def test_filings_cli_lists_json_and_adds(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from suanli.cli import app

    monkeypatch.setenv("SUANLI_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()
    args = ["filings", "add", "--number", NEW["filing_number"], "--name", "Test service",
            "--developer", "Test Co", "--source-url", NEW["source_url"], "--source-title",
            "a CAC batch", "--source-date", "2026-11-02"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    bad = runner.invoke(app, [*args[:3], "Nope", *args[4:]])
    assert bad.exit_code == 2 and "filing_number" in bad.output
    out = runner.invoke(app, ["filings", "list", "--json"])
    assert out.exit_code == 0
    assert NEW["filing_number"] in {f["filing_number"] for f in json.loads(out.output)}
