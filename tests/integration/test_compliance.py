"""Grey-market screening on SQLite and PostgreSQL: the demo world's H100 listing in Shenzhen
(no provenance) is left out of voucher-paid quotes and of placement with its rule; an officer's
clearance stops that, evidence removes the flag, a block touches only its tenant classes."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from suanli.cli import app
from suanli.domain.registry import Offer, Tenant
from suanli.domain.roles import SYSTEM, Principal, Role
from suanli.errors import PermissionDenied, ValidationError
from suanli.rejection import Code
from suanli.services import compliance, exchange, registry
from suanli.services.quotes import quote
from suanli.store.tables.compliance import compliance_decisions
from suanli.store.uow import UnitOfWork
from tests.integration.exchange_support import WHO, give_voucher, request

GREY = "sz-qh-1-h100"
RULE = "us-ear-2022-10-3a090"
OFFICER = Principal(Role.OFFICER, None, name="Li Na")
NOW = datetime(2026, 3, 2, tzinfo=UTC)


def _quote(engine: Engine, body: dict, *, placing: bool = False, who: Principal = WHO):  # type: ignore[type-arg]
    with UnitOfWork(engine, read_only=True) as uow:
        return quote(uow, who, exchange.request_from_dict(body), now=NOW, placing=placing)


def _flags(engine: Engine) -> dict[tuple[str, str], dict]:  # type: ignore[type-arg]
    with UnitOfWork(engine, read_only=True) as uow:
        found = compliance.flagged_offers(uow, Principal(Role.AUDITOR, None), now=NOW)
    return {(f.offer_id, f.rule.id): f.to_dict() for f in found}


def _decide(engine: Engine, decision: str, reason: str = "licence number shown") -> None:
    with UnitOfWork(engine) as uow:
        compliance.decide(uow, OFFICER, GREY, RULE, decision, reason, now=NOW)


def _grey_only(**kw: object) -> dict:  # type: ignore[type-arg]
    return request(offer_ids=[GREY], **kw)


def test_flagged_offer_is_left_out_of_a_voucher_paid_quote_with_its_rule(world):
    give_voucher(world)
    q = _quote(world, _grey_only())
    assert q.rows == []
    [refusal] = q.refused
    assert refusal.code is Code.COMPLIANCE and refusal.rule_id == RULE
    assert RULE in refusal.reason and "https://" in refusal.reason  # the rule and its source
    assert refusal.to_dict()["rule_id"] == RULE
    # Paid from the wallet alone it is quoted, with the flag said on the row...
    [row] = _quote(world, _grey_only(voucher_ids=[])).rows
    assert row.compliance == (RULE,) and any(RULE in n for n in row.notes)
    # ...but never placed.
    placed = _quote(world, _grey_only(voucher_ids=[]), placing=True)
    assert placed.rows == [] and placed.refused[0].code is Code.COMPLIANCE


def test_a_cleared_flag_stops_excluding_and_is_stored_with_who_when_why(world):
    assert _flags(world)[(GREY, RULE)]["excludes"] is True
    _decide(world, "cleared")
    _decide(world, "cleared")  # a retry: the same decision is not written twice
    flag = _flags(world)[(GREY, RULE)]
    assert flag["status"] == "cleared" and flag["excludes"] is False
    assert flag["decision"]["decided_by"] == "officer Li Na"
    assert flag["decision"]["reason"] == "licence number shown"
    with UnitOfWork(world, read_only=True) as uow:
        n = uow.conn.execute(select(func.count()).select_from(compliance_decisions)).scalar_one()
    assert n == 1
    assert _quote(world, _grey_only(voucher_ids=[]), placing=True).rows
    _decide(world, "confirmed", "the licence was forged")
    assert _flags(world)[(GREY, RULE)]["status"] == "confirmed"
    assert not _quote(world, _grey_only(voucher_ids=[]), placing=True).rows


def test_evidence_removes_the_flag(world):
    with UnitOfWork(world) as uow:
        registry.amend(uow, SYSTEM, Offer, GREY, {"acquired_on": date(2022, 6, 1)})
    assert (GREY, RULE) not in _flags(world)
    assert _quote(world, _grey_only(voucher_ids=[]), placing=True).rows
    with UnitOfWork(world) as uow:  # bought the day the rule took effect: too late
        registry.amend(uow, SYSTEM, Offer, GREY, {"acquired_on": date(2022, 10, 7)})
    assert (GREY, RULE) in _flags(world)
    with UnitOfWork(world) as uow:
        registry.amend(uow, SYSTEM, Offer, GREY, {"export_licence": "D7654321"})
    assert (GREY, RULE) not in _flags(world)


def test_the_h20_guidance_blocks_only_state_owned_and_government_tenants(world):
    with UnitOfWork(world) as uow:
        tenant = registry.get(uow, SYSTEM, Tenant, "qiantang-llm")
        registry.create(uow, SYSTEM, dataclasses.replace(tenant, id="hz-state-ai",
                                                          ownership="state-owned"))  # fmt: skip
    body = request(offer_ids=["hz-xx-1-h20"], voucher_ids=[])
    [row] = _quote(world, body).rows  # a private tenant: quoted, with the warnings
    assert set(row.compliance) == {"cn-cac-2025-07-h20-inquiry", "us-licence-2025-08-revenue-share"}
    state = _quote(world, {**body, "tenant_id": "hz-state-ai"}, who=SYSTEM)
    assert state.rows == []
    assert state.refused[0].rule_id == "cn-2025-08-h20-government-work"


def test_deciding_needs_an_officer_a_reason_and_a_flag(world):
    with UnitOfWork(world) as uow, pytest.raises(PermissionDenied):
        compliance.decide(uow, Principal(Role.REVIEWER, None), GREY, RULE, "cleared", "ok")
    cases = [
        ("reason", GREY, RULE, "cleared", "  "),
        ("decision", GREY, RULE, "waived", "ok"),
        ("rule_id", GREY, "no-such-rule", "cleared", "ok"),
        ("rule_id", "bj-zgc-1-910b", RULE, "cleared", "ok"),  # a domestic chip: no flag
    ]
    for field, offer_id, rule_id, decision, reason in cases:
        with UnitOfWork(world) as uow, pytest.raises(ValidationError) as err:
            compliance.decide(uow, OFFICER, offer_id, rule_id, decision, reason, now=NOW)
        assert err.value.field == field
    assert _flags(world)[(GREY, RULE)]["status"] == "open"


def test_api_lists_flags_and_an_officer_clears_one(api, world):
    listed = api.http.get("/api/v1/compliance/offers", headers=api.token("auditor"))
    assert listed.status_code == 200
    assert {(f["offer_id"], f["rule_id"]) for f in listed.json()} >= {(GREY, RULE)}
    url = f"/api/v1/compliance/offers/{GREY}/clear"
    bad = api.http.post(url, json={"rule_id": RULE}, headers=api.token("officer"))
    assert bad.status_code == 422
    body = {"rule_id": RULE, "reason": "licence shown"}
    done = api.http.post(url, json=body, headers=api.token("officer"))
    assert done.status_code == 200 and done.json()["status"] == "cleared"
    refused = api.http.post(url, json=body, headers=api.token("tenant", "qiantang-llm"))
    assert refused.status_code == 403


def test_cli_lists_the_demo_worlds_flag_with_its_rule(world, monkeypatch):
    monkeypatch.setenv("SUANLI_DATABASE_URL", world.url.render_as_string(hide_password=False))
    out = CliRunner().invoke(app, ["compliance", "offers", "--json"])
    assert out.exit_code == 0, out.output
    flags = json.loads(out.stdout)
    grey = [f for f in flags if f["offer_id"] == GREY and f["excludes"]]
    assert [f["rule_id"] for f in grey] == [RULE]
    args = ["compliance", "clear", GREY, "--rule", RULE, "--reason", "licence shown"]
    cleared = CliRunner().invoke(app, [*args, "--by", "Li Na", "--json"])
    assert cleared.exit_code == 0, cleared.output
    assert json.loads(cleared.stdout)["decision"]["decided_by"] == "officer Li Na"
    blank = CliRunner().invoke(app, ["compliance", "confirm", GREY, "--rule", RULE, "--reason", ""])
    assert blank.exit_code == 2
